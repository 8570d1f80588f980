// Codes of the job platform (workers/jobs.ts, workers/routes.ts) and of gateway nodes reached by jobs.
export const zhCN = {
  job: {
    unknown: '队列 {queue} 没有 {name} 这种任务',
    payload_invalid: '任务 {name} 的参数 {field} 不合格：{reason}',
    not_found: '找不到该任务（可能已过保存期被清除）',
  },
  gateway: {
    no_node: '当前没有网关节点负责这台设备（网关是否在运行、设备是否已启用？）',
    node_down: '网关节点 {node} 未在运行',
  },
  recording: {
    no_node: '该录像片段没有记录所在的网关节点，无法读取',
  },
}

export const en: typeof zhCN = {
  job: {
    unknown: 'Queue {queue} has no job called {name}',
    payload_invalid: 'Job {name}: {field} is not acceptable ({reason})',
    not_found: 'No such job (it may have been cleared after its keeping period)',
  },
  gateway: {
    no_node: 'No gateway node holds this device right now (is the gateway running and the device enabled?)',
    node_down: 'Gateway node {node} is not running',
  },
  recording: {
    no_node: 'This recording segment names no gateway node, so it cannot be read',
  },
}
