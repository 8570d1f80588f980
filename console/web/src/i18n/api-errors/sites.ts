// Codes of the sites feature (see README.md beside this file), issue 9.
export const zhCN = {
  site: {
    code_invalid: '编码须为 1–64 位字母、数字或 _.-，以字母或数字开头',
    code_taken: '编码 {code} 已被其他机构使用',
    location_pair: '纬度和经度须同时填写或同时留空',
    parent_not_found: '所选上级机构不存在或已被删除',
    cycle: '不能把机构移到它自己或它的下级（{parent}）之下',
    parent_kind: '上级机构的层级不能低于本机构（平台 → 区域 → 站点）',
    children_kind: '该机构有下级机构，不能改为更低的层级',
    in_use: '该机构仍被使用：{devices} 台设备、{children} 个下级机构，请先移走后再删除',
  },
}

export const en: typeof zhCN = {
  site: {
    code_invalid: 'The code must be 1–64 letters, digits or _.-, starting with a letter or digit',
    code_taken: 'The code {code} is used by another site',
    location_pair: 'Give both latitude and longitude, or neither',
    parent_not_found: 'The chosen parent site does not exist or was deleted',
    cycle: 'A site cannot move below itself or one of its own sites ({parent})',
    parent_kind: 'The parent cannot be of a lower level than the site (platform → area → station)',
    children_kind: 'This site has sites below it: it cannot become a lower level',
    in_use: 'The site is still in use by {devices} devices and {children} sites below it: move them first',
  },
}
