// The admin's job page as pure functions: what a run did, in words to show (i18n keys with
// their parameters), how full a disk is against the water marks, when a followed job is
// over. Tested in __tests__/retention-model.test.ts.
import type { JobRun, JobState, RetentionResult, StoreReport } from '../api/jobs.ts'
import { formatBytes } from './quantities.ts'

export const RETENTION_STORES = ['segments', 'snapshots', 'exports'] as const
export type RetentionStore = (typeof RETENTION_STORES)[number]

/** One phrase of a summary: an i18n key under adminJobs.summary and its parameters. */
export interface Phrase {
  key: string
  params: Record<string, string | number>
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v)
const isReport = (v: unknown): v is StoreReport => isObject(v) && typeof v.files === 'number' && typeof v.bytes === 'number'

/** A run's result read as a retention result (the page must not break on a record of another shape). */
export function asRetentionResult(result: unknown): RetentionResult | null {
  if (!isObject(result) || !isObject(result.expired)) return null
  const e = result.expired
  if (!isReport(e.segments) || !isReport(e.snapshots) || !isReport(e.exports)) return null
  const num = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) ? v : 0)
  return {
    trigger: result.trigger === 'manual' ? 'manual' : 'schedule',
    expired: { segments: e.segments, snapshots: e.snapshots, exports: e.exports },
    highWater: Array.isArray(result.highWater) ? (result.highWater.filter(isObject) as RetentionResult['highWater']) : [],
    repaired: num(result.repaired),
    keptHeld: num(result.keptHeld),
    deferred: num(result.deferred),
    oldest: Array.isArray(result.oldest) ? (result.oldest.filter(isObject) as RetentionResult['oldest']) : [],
    durationMs: num(result.durationMs),
  }
}

/** Files and bytes freed per store, past retention and above the high-water mark together. */
export function freedByStore(r: RetentionResult): Record<RetentionStore, StoreReport> {
  const freed = {
    segments: { ...r.expired.segments },
    snapshots: { ...r.expired.snapshots },
    exports: { ...r.expired.exports },
  }
  for (const h of r.highWater) {
    freed.segments.files += h.segments?.files ?? 0
    freed.segments.bytes += h.segments?.bytes ?? 0
  }
  return freed
}

export function freedTotal(r: RetentionResult): StoreReport {
  const f = freedByStore(r)
  return RETENTION_STORES.reduce((sum, s) => ({ files: sum.files + f[s].files, bytes: sum.bytes + f[s].bytes }), { files: 0, bytes: 0 })
}

/** The earliest footage left on any camera, or null when none is left. */
export function oldestFootage(r: RetentionResult): string | null {
  let best: string | null = null
  for (const o of r.oldest) {
    if (typeof o.oldestAt === 'string' && (best === null || Date.parse(o.oldestAt) < Date.parse(best))) best = o.oldestAt
  }
  return best
}

const pct = (n: number) => `${(Math.round(n * 10) / 10).toFixed(1)}%`

/**
 * A retention run in a few phrases, most important first: what was freed (per store), the
 * disks brought down from the high-water mark, held footage kept, deletions deferred
 * (node down), leftovers repaired, and how many cameras still have footage.
 */
export function retentionPhrases(r: RetentionResult): Phrase[] {
  const f = freedByStore(r)
  const total = freedTotal(r)
  const phrases: Phrase[] = [
    total.files === 0
      ? { key: 'nothingFreed', params: {} }
      : { key: 'freed', params: { files: total.files, bytes: formatBytes(total.bytes) } },
  ]
  for (const store of RETENTION_STORES) {
    if (f[store].files > 0) phrases.push({ key: `store.${store}`, params: { files: f[store].files, bytes: formatBytes(f[store].bytes) } })
  }
  for (const h of r.highWater) {
    phrases.push({
      key: h.stillAbove ? 'highWaterStill' : 'highWater',
      params: { node: h.nodeId, before: pct(h.usedPercentBefore), after: pct(h.usedPercentAfter) },
    })
  }
  if (r.keptHeld > 0) phrases.push({ key: 'keptHeld', params: { n: r.keptHeld } })
  if (r.deferred > 0) phrases.push({ key: 'deferred', params: { n: r.deferred } })
  if (r.repaired > 0) phrases.push({ key: 'repaired', params: { n: r.repaired } })
  phrases.push({ key: 'oldest', params: { n: r.oldest.length } })
  return phrases
}

/** Any run in phrases: retention in full, the session purge by its count, others as their JSON. */
export function runPhrases(run: Pick<JobRun, 'name' | 'status' | 'result' | 'error'>): Phrase[] {
  if (run.status === 'failed') return [{ key: 'failed', params: { error: run.error ?? '' } }]
  if (run.status === 'running' || run.result === null) return []
  if (run.name === 'retention.run') {
    const r = asRetentionResult(run.result)
    if (r) return retentionPhrases(r)
  }
  if (run.name === 'sessions.purge' && typeof run.result.deleted === 'number') return [{ key: 'sessionsPurged', params: { n: run.result.deleted } }]
  return [{ key: 'raw', params: { json: JSON.stringify(run.result) } }]
}

/** Milliseconds from start to finish, or null while it runs. */
export function runDurationMs(run: Pick<JobRun, 'startedAt' | 'finishedAt'>): number | null {
  if (!run.finishedAt) return null
  const d = Date.parse(run.finishedAt) - Date.parse(run.startedAt)
  return Number.isFinite(d) && d >= 0 ? d : null
}

export type DiskLevel = 'normal' | 'low' | 'high'

/** Below the low-water mark all is well; between the marks retention frees space down to low; at high it must. */
export function diskLevel(usedPercent: number, highWater: number, lowWater: number): DiskLevel {
  if (usedPercent >= highWater) return 'high'
  if (usedPercent >= lowWater) return 'low'
  return 'normal'
}

/** How a followed job stands: still to wait for, or over one way or the other. */
export function jobOutcome(state: Pick<JobState, 'state'>): 'pending' | 'completed' | 'failed' {
  if (state.state === 'completed') return 'completed'
  if (state.state === 'failed') return 'failed'
  return 'pending'
}
