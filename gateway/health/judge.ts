import type { DeviceState } from '../devices/types.ts';

export type CheckResult = { ok: true } | { ok: false; code: string; message: string };

/**
 * A device's state from what was checked (pure, unit-tested):
 * - nothing failed → online;
 * - everything failed → offline, with the first reason;
 * - some failed, or the device answers but refuses our credentials → degraded.
 * A device with nothing to check (no ONVIF address, no stream URL) stays unknown.
 */
export function judgeHealth(checks: { onvif?: CheckResult; rtsp?: CheckResult }): { state: DeviceState; reason: string | null; seen: boolean } {
  const results = [checks.onvif, checks.rtsp].filter((c): c is CheckResult => c !== undefined);
  if (results.length === 0) return { state: 'unknown', reason: 'nothing to check: no ONVIF address and no stream URL', seen: false };
  const failed = results.filter((r): r is Extract<CheckResult, { ok: false }> => !r.ok);
  const answered = results.some((r) => r.ok || r.code === 'auth');
  if (failed.length === 0) return { state: 'online', reason: null, seen: true };
  const reason = failed.map((f) => f.message).join('; ');
  if (!answered) return { state: 'offline', reason, seen: false };
  return { state: 'degraded', reason, seen: true };
}
