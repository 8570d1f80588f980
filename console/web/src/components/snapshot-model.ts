// The snapshot strip's decisions as pure functions: where a new picture goes, when the
// signed image links need renewing, how a source is tagged. Tested in __tests__/snapshot-model.test.ts.
import type { Snapshot, SnapshotSource } from '../api/snapshots.ts'

/** How many pictures the strip shows. */
export const STRIP_LIMIT = 20
/** Links are renewed this long before they lapse, so an enlarged picture never goes blank. */
export const URL_MARGIN_MS = 30_000
/** A picture that fails to load asks for fresh links at most this often (a camera gone for good must not loop). */
export const REFETCH_MIN_GAP_MS = 5_000

/** The strip with a just-taken picture in it: newest first, each once, at most `limit`. */
export function withTaken(list: Snapshot[], taken: Snapshot, limit = STRIP_LIMIT): Snapshot[] {
  const rest = list.filter((s) => s.id !== taken.id)
  return [taken, ...rest].sort((a, b) => Date.parse(b.takenAt) - Date.parse(a.takenAt)).slice(0, limit)
}

/** Milliseconds until the first link needs renewing (0: now), or null with nothing to renew. */
export function renewDelayMs(list: Snapshot[], now: number, margin = URL_MARGIN_MS): number | null {
  let first = Infinity
  for (const s of list) {
    const at = Date.parse(s.urlExpiresAt)
    if (Number.isFinite(at)) first = Math.min(first, at)
  }
  return first === Infinity ? null : Math.max(0, first - margin - now)
}

/** Whether a failed image may ask for fresh links now. */
export function mayRefetch(lastFetchAt: number, now: number, minGap = REFETCH_MIN_GAP_MS): boolean {
  return now - lastFetchAt >= minGap
}

/** Element Plus tag type per source: a frame of the running session is the usual case. */
export const SOURCE_TAG: Record<SnapshotSource, 'success' | 'primary' | 'warning'> = {
  session: 'success',
  onvif: 'primary',
  rtsp: 'warning',
  recording: 'primary',
}

/** 1920×1080, or null when the worker did not learn the size. */
export function resolution(s: Pick<Snapshot, 'width' | 'height'>): string | null {
  return s.width && s.height ? `${s.width}×${s.height}` : null
}

/**
 * The snapshots an export may still include once its cameras changed: a picture of a
 * camera no longer in the export leaves the selection.
 */
export function keepSelected(selected: string[], byDevice: Record<string, Snapshot[]>, deviceIds: string[]): string[] {
  const allowed = new Set(deviceIds.flatMap((id) => (byDevice[id] ?? []).map((s) => s.id)))
  return selected.filter((id) => allowed.has(id))
}
