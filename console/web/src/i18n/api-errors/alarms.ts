// Codes of the alarms feature (see README.md beside this file), issue 9.
export const zhCN = {
  alarm: {
    not_found: '报警不存在或已被清除',
    range_order: '结束时间必须晚于开始时间',
    already_acked: '该报警已由 {ackedByName} 确认',
    link_target: '请选择要关联的警情，或新建警情',
    incident_closed: '警情 {number} 已结束，不能再关联报警',
    already_linked: '该报警已关联警情 {number}',
  },
}

export const en: typeof zhCN = {
  alarm: {
    not_found: 'The alarm does not exist or was purged',
    range_order: 'The range must end after it starts',
    already_acked: 'This alarm was acknowledged already by {ackedByName}',
    link_target: 'Choose an incident to join, or create a new one',
    incident_closed: 'Incident {number} is closed: no more alarms can join it',
    already_linked: 'This alarm belongs to incident {number} already',
  },
}
