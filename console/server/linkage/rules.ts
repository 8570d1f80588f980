import type { CueStatus, UnitCueStep, UnitState } from './types.ts';

/**
 * The rules cues and units follow, as data and pure functions (tests/unit/linkage-rules.test.ts
 * holds the tables of allowed and forbidden steps). As in dispatch systems: a cue goes
 * sent → received → en_route → on_scene → done one step at a time from the phone; a monitor may
 * cancel or reassign it while it is active, and may force a step the unit did not report (a
 * radio confirmation) only as an override, recorded with who and why.
 */

/** Statuses in which a cue holds its unit. */
export const ACTIVE_CUE: readonly CueStatus[] = ['sent', 'received', 'en_route', 'on_scene'];
export const isActiveCue = (s: CueStatus) => ACTIVE_CUE.includes(s);

/** The one step the unit itself may take next. */
const NEXT: Partial<Record<CueStatus, UnitCueStep>> = { sent: 'received', received: 'en_route', en_route: 'on_scene', on_scene: 'done' };
const ORDER: readonly CueStatus[] = ['sent', 'received', 'en_route', 'on_scene', 'done'];

export type StepVerdict =
  | { ok: true; override: boolean; skipped: CueStatus[] }
  | { ok: false; code: 'linkage.cue_final' | 'linkage.cue_step_skipped' | 'linkage.cue_step_backwards' | 'linkage.cue_override_reason'; rule: string };

/**
 * May `from` → `to` happen, by the unit (`by: 'unit'`) or forced by a monitor (`by: 'monitor'`,
 * which needs a reason when it skips steps)? `skipped` lists the steps a forced jump passes over.
 */
export function cueStep(from: CueStatus, to: UnitCueStep, by: 'unit' | 'monitor', reason = ''): StepVerdict {
  if (!isActiveCue(from)) return { ok: false, code: 'linkage.cue_final', rule: `a ${from} cue does not change` };
  const i = ORDER.indexOf(from);
  const j = ORDER.indexOf(to);
  if (j <= i) return { ok: false, code: 'linkage.cue_step_backwards', rule: `${from} → ${to} goes backwards` };
  if (NEXT[from] === to) return { ok: true, override: false, skipped: [] };
  const skipped = ORDER.slice(i + 1, j);
  if (by === 'unit') {
    return { ok: false, code: 'linkage.cue_step_skipped', rule: `${to} needs ${skipped.join(', ')} first: a unit cannot be ${to} for a cue it never ${skipped[0] === 'received' ? 'accepted' : 'reported ' + skipped[0]}` };
  }
  if (reason.trim().length < 2) return { ok: false, code: 'linkage.cue_override_reason', rule: `skipping ${skipped.join(', ')} is an override and needs a reason` };
  return { ok: true, override: true, skipped };
}

/** What the unit may do next from the phone. */
export function unitSteps(from: CueStatus): UnitCueStep[] {
  const n = NEXT[from];
  return n ? [n] : [];
}

/** Every status a monitor may force from `from` (with a reason when it skips). */
export function monitorSteps(from: CueStatus): CueStatus[] {
  if (!isActiveCue(from)) return [];
  return [...ORDER.slice(ORDER.indexOf(from) + 1), 'cancelled', 'reassigned'];
}

export type CueVerdict = { ok: true } | { ok: false; code: 'linkage.unit_off_duty' | 'linkage.unit_busy' | 'linkage.unit_disabled'; rule: string };

/** May a unit in `state` be cued? Busy only by reassigning its cue first; off duty never. */
export function canCue(unit: { state: UnitState; disabled: boolean; callSign: string }): CueVerdict {
  if (unit.disabled) return { ok: false, code: 'linkage.unit_disabled', rule: `${unit.callSign} is disabled` };
  if (unit.state === 'off_duty') return { ok: false, code: 'linkage.unit_off_duty', rule: `${unit.callSign} is off duty: nobody would receive the cue` };
  if (unit.state === 'busy') return { ok: false, code: 'linkage.unit_busy', rule: `${unit.callSign} holds an active cue: reassign or finish it first` };
  return { ok: true };
}

/** The unit's state that follows from its duty and its cues. */
export function unitState(onDuty: boolean, hasActiveCue: boolean): UnitState {
  if (hasActiveCue) return 'busy';
  return onDuty ? 'available' : 'off_duty';
}

/** The cue's timestamp column each step sets. */
export const STEP_COLUMN: Record<UnitCueStep, 'received_at' | 'en_route_at' | 'on_scene_at' | 'done_at'> = {
  received: 'received_at', en_route: 'en_route_at', on_scene: 'on_scene_at', done: 'done_at',
};

/** The incident's first-time column a cue step fills (response times, 快速反应). */
export const INCIDENT_TIME: Partial<Record<CueStatus, 'dispatched_at' | 'acknowledged_at' | 'en_route_at' | 'arrived_at'>> = {
  sent: 'dispatched_at', received: 'acknowledged_at', en_route: 'en_route_at', on_scene: 'arrived_at',
};

/** Which 1/3/5-minute target (index) `seconds` meets, or null when it misses all of them. */
export function responseTarget(seconds: number, targets: readonly number[]): number | null {
  const i = targets.findIndex((t) => seconds <= t);
  return i < 0 ? null : i;
}
