// Codes of the realtime feature (see README.md beside this file), issue 9: the /api/events
// WebSocket. Topic refusals arrive in `subscribed.refused[].code`, close reasons as the close
// frame's reason text; the plain-HTTP refusal as the usual error body.
export const zhCN = {
  realtime: {
    upgrade_required: '/api/events 是 WebSocket 接口，请以 WebSocket 方式连接',
    topic_unknown: '没有名为“{topic}”的实时消息频道',
    topic_forbidden: '您的角色无权接收“{topic}”频道的实时消息',
    too_many_topics: '同一连接订阅的频道过多，未订阅“{topic}”',
    bad_message: '实时连接收到无法识别的消息，连接已断开',
    frame_too_large: '实时连接收到的消息过长，连接已断开',
    flood: '实时连接发送消息过于频繁，连接已断开',
    slow_consumer: '实时消息接收过慢，连接已断开，将自动重连',
    revoked: '登录已失效（已退出、账号停用或密码已修改），实时连接已断开',
    forbidden: '您的角色已不允许使用实时消息，连接已断开',
    shutdown: '服务器正在重启，实时连接将自动恢复',
    dead: '实时连接无响应，已断开',
  },
}

export const en: typeof zhCN = {
  realtime: {
    upgrade_required: '/api/events is a WebSocket: connect with a WebSocket upgrade',
    topic_unknown: 'There is no realtime topic "{topic}"',
    topic_forbidden: 'Your role may not receive realtime events of "{topic}"',
    too_many_topics: 'Too many topics on one connection: "{topic}" was not subscribed',
    bad_message: 'The realtime connection received a message it does not understand and was closed',
    frame_too_large: 'The realtime connection received a message that is too long and was closed',
    flood: 'The realtime connection sent messages too fast and was closed',
    slow_consumer: 'Realtime events were read too slowly: the connection was closed and will reconnect',
    revoked: 'Your sign-in ended (signed out, account disabled or password changed): the realtime connection was closed',
    forbidden: 'Your role no longer allows realtime events: the connection was closed',
    shutdown: 'The server is restarting: the realtime connection will come back on its own',
    dead: 'The realtime connection stopped answering and was closed',
  },
}
