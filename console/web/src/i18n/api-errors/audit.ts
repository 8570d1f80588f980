// Codes of the audit feature and the admin pages' API tokens (see README.md beside this file), issue 9.
export const zhCN = {
  audit: {
    range_reversed: '结束时间不能早于开始时间',
    time_zone: '时区无效',
  },
  apiToken: {
    user_disabled: '用户 {username} 已停用，请先启用再签发令牌',
  },
}

export const en: typeof zhCN = {
  audit: {
    range_reversed: 'The end time is before the start time',
    time_zone: 'The time zone is not valid',
  },
  apiToken: {
    user_disabled: 'The user {username} is disabled: enable them before issuing a token',
  },
}
