import type { IncidentStatus } from './types.ts';

/**
 * The incident life cycle as data: new → dispatched → on_scene → resolved → closed; any
 * status before closed may be cancelled; a resolved incident may go back on scene (reopened).
 * Closed and cancelled are final.
 */
export const TRANSITIONS: Readonly<Record<IncidentStatus, readonly IncidentStatus[]>> = {
  new: ['dispatched', 'cancelled'],
  dispatched: ['on_scene', 'cancelled'],
  on_scene: ['resolved', 'cancelled'],
  resolved: ['closed', 'on_scene', 'cancelled'],
  closed: [],
  cancelled: [],
};

/** Where an incident in `from` may go next. */
export function allowedTransitions(from: IncidentStatus): IncidentStatus[] {
  return [...TRANSITIONS[from]];
}

/** Whether `from` → `to` is a legal step (staying put is not a step). */
export function canTransition(from: IncidentStatus, to: IncidentStatus): boolean {
  return TRANSITIONS[from].includes(to);
}

/** A final status: nothing changes after it, its footage holds are released. */
export function isFinal(status: IncidentStatus): boolean {
  return TRANSITIONS[status].length === 0;
}

/** Whether entering `to` ends the incident's claim on footage (bookmark holds released, closed_at set). */
export function endsIncident(to: IncidentStatus): boolean {
  return isFinal(to);
}

/**
 * The fields that differ between `before` and `after`, as `{ field: { from, to } }` for the
 * timeline. Dates compare by instant; fields absent from `after` did not change.
 */
export function changedFields<T extends Record<string, unknown>>(before: T, after: Partial<T>): Record<string, { from: unknown; to: unknown }> {
  const out: Record<string, { from: unknown; to: unknown }> = {};
  for (const key of Object.keys(after) as (keyof T & string)[]) {
    const a = before[key];
    const b = after[key];
    if (b === undefined) continue;
    const same = a instanceof Date && b instanceof Date ? a.getTime() === b.getTime() : a === b;
    if (!same) out[key] = { from: a instanceof Date ? a.toISOString() : a ?? null, to: b instanceof Date ? b.toISOString() : b ?? null };
  }
  return out;
}
