// Codes of the media feature (see README.md beside this file): media tokens on the gateway,
// live view and footage.
export const zhCN = {
  media: {
    token_required: '缺少视频访问令牌',
    token_invalid: '视频访问令牌无效',
    token_expired: '视频访问令牌已过期，请重新打开视频',
    token_revoked: '该用户已被停用或重置了密码，视频访问已被收回',
    token_wrong_camera: '视频访问令牌不适用于这台设备',
    token_no_range: '视频访问令牌未包含录像时间范围',
  },
  live: {
    device_disabled: '该设备已停用，无法查看实时视频',
    playlist_starting: '实时视频正在启动，请稍候',
    no_session: '该摄像机当前没有运行中的视频会话，请重新打开视频',
    upgrade_required: '低延时视频须通过 WebSocket 连接',
    no_sub_stream: '该摄像机没有子码流',
  },
  footage: {
    day_invalid: '{field}不是有效的日期（须为 1970 年至两年后之间的真实日期）',
    time_invalid: '{field}不是有效的时间（须在 1970 年至两年后之间）',
    from_future: '{field}不能晚于当前时间',
    range_backwards: '{field}须晚于开始时间',
    range_too_long: '录像回放范围最长 {hours} 小时',
    segment_outside_range: '该录像片段不在本次调阅的时间范围内',
  },
}

export const en: typeof zhCN = {
  media: {
    token_required: 'A media token is required',
    token_invalid: 'The media token is not valid',
    token_expired: 'The media token has expired; open the video again',
    token_revoked: 'Media access was withdrawn: the user was disabled or their password reset',
    token_wrong_camera: 'The media token is not for this device',
    token_no_range: 'The media token grants no footage range',
  },
  live: {
    device_disabled: 'This device is disabled: no live view',
    playlist_starting: 'Live video is starting; one moment',
    no_session: 'No video session is running for this camera; open the video again',
    upgrade_required: 'Low-latency video needs a WebSocket connection',
    no_sub_stream: 'This camera has no sub stream',
  },
  footage: {
    day_invalid: '{field} is not a valid day (a real date from 1970 to two years ahead)',
    time_invalid: '{field} is not a valid time (from 1970 to two years ahead)',
    from_future: '{field} cannot be in the future',
    range_backwards: '{field} must be after the start',
    range_too_long: 'A footage range spans {hours} hours at most',
    segment_outside_range: 'This recording segment lies outside the footage range opened',
  },
}
