import { describe, expect, it } from 'vitest'
import { actionKey, auditFilters, detailsText, emptyAuditForm } from '../components/admin/audit-model.ts'

describe('audit filters', () => {
  it('sends only what was filled in, trimmed', () => {
    const r = auditFilters({ ...emptyAuditForm(), actor: ' zhang ', action: 'user.', outcome: 'denied' }, 'Asia/Shanghai')
    expect(r).toEqual({ filters: { actor: 'zhang', action: 'user.', outcome: 'denied' } })
  })

  it('reads the range in the site time zone, the end second inclusive', () => {
    const r = auditFilters({ ...emptyAuditForm(), range: ['2026-03-01 08:00:00', '2026-03-01 09:00:00'] }, 'Asia/Shanghai')
    expect(r).toEqual({ filters: { from: '2026-03-01T00:00:00.000Z', to: '2026-03-01T01:00:01.000Z' } })
  })

  it('stops a reversed range', () => {
    expect(auditFilters({ ...emptyAuditForm(), range: ['2026-03-02 00:00:00', '2026-03-01 00:00:00'] }, 'UTC')).toEqual({ problem: 'reversed' })
  })

  it('names known actions and shows details as text', () => {
    expect(actionKey('user.password_reset')).toBe('admin.audit.actionNames.user_password_reset')
    expect(detailsText({})).toBe('')
    expect(detailsText({ a: '<b>' })).toBe('{\n  "a": "<b>"\n}')
  })
})
