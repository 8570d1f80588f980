// Codes of the evidence feature (see README.md beside this file): export requests, their
// packages and download links, and the export job's permanent failures.
export const zhCN = {
  export: {
    blank: '{field} 不能为空',
    too_many_cameras: '一次导出最多 {max} 路摄像机',
    range_order: '结束时间必须晚于开始时间',
    range_future: '开始时间不能晚于当前时间',
    range_too_long: '每路摄像机的导出时段最长 {max} 小时',
    no_footage: '摄像机“{name}”在该时段内没有录像',
    snapshot_unknown: '所选抓图中有不存在的图片',
    user_required: '证据导出只能由用户账号申请',
    not_yours: '只有申请人、值班长和管理员可以查看或下载该导出',
    not_ready: '该导出尚未完成（当前状态：{status}），暂不能下载',
    token_wrong_export: '该下载链接不适用于这个导出',
    queue_failed: '导出任务未能加入队列，请重试',
    not_found: '导出记录不存在',
    not_runnable: '该导出当前状态为 {status}，不能再生成',
    failed: '导出多次重试后仍然失败',
  },
}

export const en: typeof zhCN = {
  export: {
    blank: '{field} must not be blank',
    too_many_cameras: 'An export holds at most {max} cameras',
    range_order: 'The range must end after it starts',
    range_future: 'The range cannot start in the future',
    range_too_long: 'One camera\'s range is at most {max} hours',
    no_footage: 'Camera "{name}" has no recorded footage in this range',
    snapshot_unknown: 'A snapshot chosen does not exist',
    user_required: 'Exports are requested by user accounts only',
    not_yours: 'Only who asked for this export, supervisors and admins may see or download it',
    not_ready: 'The export is not finished (it is {status}), so it cannot be downloaded yet',
    token_wrong_export: 'This download link is for another export',
    queue_failed: 'The export could not be queued; try again',
    not_found: 'No such export',
    not_runnable: 'The export is {status} and cannot be built again',
    failed: 'The export kept failing after its retries',
  },
}
