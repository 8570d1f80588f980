// Codes of the incidents feature (see README.md beside this file), issue 9: numbering, the
// life cycle, edits under optimistic concurrency, the list's filters, bookmarks.
export const zhCN = {
  incident: {
    not_found: '警情不存在或已被删除',
    final: '该警情已结束（{status}），不能再修改',
    stale: '警情已被{updatedByName}修改（当前版本 {currentVersion}），请刷新后再改',
    bad_transition: '警情状态不能从“{from}”改为“{to}”',
    type_unknown: '警情类别“{type}”不在类别目录中',
    blank: '{field}不能为空',
    occurred_future: '发生时间不能晚于现在',
    location_pair: '经度和纬度需要同时填写',
    device_unknown: '{field} 不是已登记的设备',
    status_unknown: '“{status}”不是有效的警情状态',
    range_order: '结束时间必须晚于开始时间',
    range_future: '{field} 不能晚于现在',
    range_too_long: '书签时段最长 {max} 小时',
    bbox_incomplete: '按区域筛选需要同时给出 minLat、minLon、maxLat、maxLon（缺少 {field}）',
    bbox_order: '区域范围颠倒：{field} 小于对应的最小值',
    bad_cursor: '翻页位置无效，请从第一页重新查询',
    bookmark_not_found: '书签不存在或已被删除',
    snapshot_not_at: '未能取得该时刻的录像画面',
    video_assisted_on_close: '“视频协助破案”只在结案时填写',
  },
}

export const en: typeof zhCN = {
  incident: {
    not_found: 'The incident does not exist or was removed',
    final: 'The incident is {status}: it can no longer be changed',
    stale: '{updatedByName} changed the incident (now version {currentVersion}): reload it and make your change again',
    bad_transition: 'An incident cannot go from "{from}" to "{to}"',
    type_unknown: 'Incident type "{type}" is not in the type catalogue',
    blank: '{field} must not be blank',
    occurred_future: 'The time it occurred cannot be in the future',
    location_pair: 'Latitude and longitude are given together',
    device_unknown: '{field} names no registered device',
    status_unknown: '"{status}" is not an incident status',
    range_order: 'The end must be after the start',
    range_future: '{field} cannot be in the future',
    range_too_long: 'A bookmark spans at most {max} hours',
    bbox_incomplete: 'An area filter needs minLat, minLon, maxLat and maxLon ({field} is missing)',
    bbox_order: 'The area is reversed: {field} is below its minimum',
    bad_cursor: 'This page position is not valid: search again from the first page',
    bookmark_not_found: 'The bookmark does not exist or was removed',
    snapshot_not_at: 'No frame of the recording at that moment could be taken',
    video_assisted_on_close: 'Whether video helped is recorded when the incident is closed',
  },
}
