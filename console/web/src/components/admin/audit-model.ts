// The audit viewer's filters as pure functions: the form (wall-clock times in the site time
// zone) → the API's filters (UTC instants), and how an action reads. Tested in
// __tests__/audit-model.test.ts.
import type { AuditFilters, AuditOutcome } from '../../api/audit.ts'
import { wallToInstant } from '../export-model.ts'

export interface AuditForm {
  actor: string
  action: string
  targetType: string
  targetId: string
  outcome: AuditOutcome | ''
  /** [from, to] as `YYYY-MM-DD HH:mm:ss` readings in the site time zone. */
  range: [string, string] | null
}

export function emptyAuditForm(): AuditForm {
  return { actor: '', action: '', targetType: '', targetId: '', outcome: '', range: null }
}

/** The filters of a form, or the problem (`reversed`) that stops it being sent. */
export function auditFilters(form: AuditForm, timeZone: string): { filters: AuditFilters } | { problem: 'reversed' } {
  const filters: AuditFilters = {}
  const text = (s: string) => s.trim()
  if (text(form.actor)) filters.actor = text(form.actor)
  if (text(form.action)) filters.action = text(form.action)
  if (text(form.targetType)) filters.targetType = text(form.targetType)
  if (text(form.targetId)) filters.targetId = text(form.targetId)
  if (form.outcome) filters.outcome = form.outcome
  if (form.range) {
    const from = wallToInstant(form.range[0], timeZone)
    const to = wallToInstant(form.range[1], timeZone)
    if (from !== null && to !== null && from > to) return { problem: 'reversed' }
    if (from !== null) filters.from = new Date(from).toISOString()
    // the picker's end second is inclusive; the API's `to` is exclusive
    if (to !== null) filters.to = new Date(to + 1000).toISOString()
  }
  return { filters }
}

/** The message key of a known action (`user.create` → admin.audit.actionNames.user_create). */
export function actionKey(action: string): string {
  return `admin.audit.actionNames.${action.replace(/[^a-zA-Z0-9]/g, '_')}`
}

/** The action prefixes the filter offers (each `group.`), in the order a control room thinks of them. */
export const ACTION_GROUPS = ['auth', 'user', 'token', 'device', 'live', 'footage', 'ptz', 'snapshot', 'export', 'incident', 'alarm', 'wall', 'tour', 'site', 'retention', 'audit'] as const

export const TARGET_TYPES = ['device', 'user', 'api_token', 'site', 'incident', 'alarm', 'export', 'snapshot', 'recording', 'wall_layout', 'tour', 'audit_log'] as const

/** Details as indented JSON for the expanded row (text, never markup). */
export function detailsText(details: Record<string, unknown> | null | undefined): string {
  if (!details || Object.keys(details).length === 0) return ''
  return JSON.stringify(details, null, 2)
}
