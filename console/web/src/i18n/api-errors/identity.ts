// Codes of the identity feature (see README.md beside this file).
export const zhCN = {
  auth: {
    cross_site: '已拒绝来自其他网站的请求：请在本系统页面内操作',
    rate_limited: '登录失败次数过多，请 {seconds} 秒后再试',
    wrong_password: '当前密码不正确',
    same_password: '新密码不能与当前密码相同',
  },
  user: {
    disable_self: '不能停用自己的账号',
    username_invalid: '用户名须为 2–64 位字母、数字或 _.@-',
    username_taken: '用户名 {username} 已被使用',
  },
}

export const en: typeof zhCN = {
  auth: {
    cross_site: 'Refused a request from another site: use the console itself',
    rate_limited: 'Too many failed logins; try again in {seconds} s',
    wrong_password: 'The current password is wrong',
    same_password: 'The new password must differ from the current one',
  },
  user: {
    disable_self: 'You cannot disable your own account',
    username_invalid: 'The username must be 2–64 letters, digits or _.@-',
    username_taken: 'The username {username} is taken',
  },
}
