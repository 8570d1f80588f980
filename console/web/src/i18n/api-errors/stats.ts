// Codes of the stats feature (see README.md beside this file), issue 11: the ranges, days and
// filters of the statistics and the daily brief.
export const zhCN = {
  stats: {
    bad_date: '{field} 不是有效的日期（YYYY-MM-DD）或时间：{value}',
    range_order: '结束时间必须晚于开始时间',
    range_too_long: '统计时段最长 {maxDays} 天',
    type_unknown: '警情类别“{type}”不在类别目录中',
    site_unknown: '所选区域不存在或已被删除',
    date_future: '{date} 还没有到，不能生成当日警情',
  },
}

export const en: typeof zhCN = {
  stats: {
    bad_date: '{field} is not a date (YYYY-MM-DD) or a time: {value}',
    range_order: 'The end must be after the start',
    range_too_long: 'A statistics range covers at most {maxDays} days',
    type_unknown: 'Incident type "{type}" is not in the type catalogue',
    site_unknown: 'The area does not exist or was removed',
    date_future: '{date} has not come yet: there is no brief for it',
  },
}
