// Codes of the search feature (see README.md beside this file), issue 9: nearby cameras, footage
// search and a camera's timeline (console/server/search), and snapshots of a recorded moment
// (workers/snapshot with gateway/frames/recorded.ts).
export const zhCN = {
  search: {
    range_reversed: '结束时间必须晚于开始时间',
    range_too_long: '一次检索最多覆盖 {maxDays} 天',
    radius_too_large: '检索半径最大为 {max} 米',
    incident_not_located: '警情 {number} 没有位置，请指定经纬度',
    center_required: '请指定经纬度，或选择一个有位置的警情',
    area_invalid: '绘制的区域没有面积（各点在一条直线上）',
    scope_required: '请选择摄像机、绘制区域、指定标签或事件类型',
  },
  recorded_frame: {
    future: '抓图时刻不能晚于现在',
    bad_time: '抓图时刻不是有效的时间',
    no_footage: '该摄像机在 {at} 没有录像',
    bad_path: '不是该摄像机的录像文件',
    file_missing: '录像文件已不在网关上（可能已按保存期限删除）',
    no_frame: '未能从录像中解出画面（{reason}）',
  },
}

export const en: typeof zhCN = {
  search: {
    range_reversed: 'The end must be after the start',
    range_too_long: 'A search covers at most {maxDays} days',
    radius_too_large: 'The radius is at most {max} m',
    incident_not_located: 'Incident {number} has no location: give a latitude and longitude',
    center_required: 'Give a latitude and longitude, or an incident with a location',
    area_invalid: 'The drawn area has no surface (its corners lie on one line)',
    scope_required: 'Choose cameras, draw an area, or give tags or event kinds',
  },
  recorded_frame: {
    future: 'The moment of the snapshot cannot be in the future',
    bad_time: 'The moment of the snapshot is not a valid time',
    no_footage: 'This camera recorded nothing at {at}',
    bad_path: 'Not a recording file of this camera',
    file_missing: 'The recording file is no longer on the gateway (retention may have removed it)',
    no_frame: 'No picture could be decoded from the recording ({reason})',
  },
}
