import type { EventLog } from '../../../core/events.ts';
import type { Logger } from 'pino';
import type { Fix, FixSource } from './types.ts';
import type { FixRow, LinkageRepository } from './repository.ts';

/** A fix stamped this far ahead of the server's clock is refused (phones' clocks drift a little). */
export const FUTURE_SLACK_MS = 30_000;
/** Fixes older than this are not stored (a phone offline for a day sends its queue; older is noise). */
export const MAX_AGE_MS = 24 * 3600_000;
/** Fixes are written in one statement every this many ms (group commit); requests wait for their write. */
const WRITE_EVERY_MS = 25;
/** Positions go out to the control room batched this often (topic `units`, `unit.positions`). */
const FANOUT_EVERY_MS = 200;

export type FixVerdict = { ok: true; fix: FixRow } | { ok: false; code: string; reason: string };

/** Check one fix. Pure: `now` is given. */
export function checkFix(f: Fix, unitId: string, source: FixSource, now: number): FixVerdict {
  const at = Date.parse(f.at);
  if (!Number.isFinite(at)) return { ok: false, code: 'linkage.fix_time', reason: 'at is not a date-time' };
  if (at > now + FUTURE_SLACK_MS) return { ok: false, code: 'linkage.fix_future', reason: 'at lies in the future' };
  if (at < now - MAX_AGE_MS) return { ok: false, code: 'linkage.fix_too_old', reason: 'at is more than 24 hours old' };
  if (!Number.isFinite(f.lat) || !Number.isFinite(f.lon) || f.lat < -90 || f.lat > 90 || f.lon < -180 || f.lon > 180) {
    return { ok: false, code: 'linkage.fix_range', reason: 'lat must lie in -90..90 and lon in -180..180' };
  }
  if (f.lat === 0 && f.lon === 0) return { ok: false, code: 'linkage.fix_range', reason: '0, 0 is a receiver without a fix' };
  const heading = f.heading ?? null;
  if (heading !== null && !(Number.isFinite(heading) && heading >= 0 && heading <= 360)) return { ok: false, code: 'linkage.fix_heading', reason: 'heading must lie in 0..360' };
  const speed = f.speed ?? null;
  if (speed !== null && !(Number.isFinite(speed) && speed >= 0 && speed <= 100)) return { ok: false, code: 'linkage.fix_speed', reason: 'speed must lie in 0..100 m/s' };
  const accuracy = f.accuracy ?? null;
  if (accuracy !== null && !(Number.isFinite(accuracy) && accuracy >= 0)) return { ok: false, code: 'linkage.fix_accuracy', reason: 'accuracy must be at least 0' };
  return { ok: true, fix: { unitId, at: new Date(at), lat: f.lat, lon: f.lon, heading: heading === 360 ? 0 : heading, speed, accuracy, source } };
}

/** A per-unit token bucket: `rate` requests a second, bursts of twice that. */
export function createUnitLimiter(rate: number) {
  const buckets = new Map<string, { tokens: number; at: number }>();
  return {
    take(unitId: string, now = Date.now()): boolean {
      const b = buckets.get(unitId) ?? { tokens: rate * 2, at: now };
      b.tokens = Math.min(rate * 2, b.tokens + ((now - b.at) / 1000) * rate);
      b.at = now;
      if (b.tokens < 1) { buckets.set(unitId, b); return false; }
      b.tokens -= 1;
      buckets.set(unitId, b);
      if (buckets.size > 50_000) buckets.delete(buckets.keys().next().value!);
      return true;
    },
  };
}

/**
 * GPS ingest: fixes from phones and vehicle terminals are checked one by one (a bad fix does not
 * lose the good ones), written in group commits (one INSERT for every request of the last 25 ms,
 * each request answered once its fixes are stored), and fanned out to the control room as one
 * `unit.positions` event per 200 ms with the newest fix of each unit that moved (ephemeral: no event
 * row, no replay; a console that reconnects reloads GET /api/units).
 */
export function createPositionIngest(deps: { repo: LinkageRepository; eventLog: EventLog; log: Logger; maxPerSecond: number }) {
  const limiter = createUnitLimiter(deps.maxPerSecond);
  let queue: { fixes: FixRow[]; resolve: (stored: number) => void; reject: (e: unknown) => void }[] = [];
  let writeTimer: NodeJS.Timeout | null = null;
  let fanoutTimer: NodeJS.Timeout | null = null;
  const moved = new Map<string, FixRow>();
  let stopped = false;

  async function write(): Promise<void> {
    writeTimer = null;
    const batch = queue;
    queue = [];
    try {
      const stored = await deps.repo.insertFixes(batch.flatMap((b) => b.fixes));
      const byUnit = new Map<string, number>();
      for (const f of stored) {
        byUnit.set(f.unitId, (byUnit.get(f.unitId) ?? 0) + 1);
        const prev = moved.get(f.unitId);
        if (!prev || prev.at < f.at) moved.set(f.unitId, f);
      }
      // A request's count of stored fixes: its own, taken from the unit totals in order.
      for (const b of batch) {
        let n = 0;
        for (const f of b.fixes) {
          const left = byUnit.get(f.unitId) ?? 0;
          if (left > 0) { n++; byUnit.set(f.unitId, left - 1); }
        }
        b.resolve(n);
      }
      if (moved.size && !fanoutTimer && !stopped) fanoutTimer = setTimeout(() => void fanout(), FANOUT_EVERY_MS);
    } catch (err) {
      for (const b of batch) b.reject(err);
    }
  }

  async function fanout(): Promise<void> {
    fanoutTimer = null;
    if (moved.size === 0) return;
    const positions = [...moved.values()].map((f) => ({ unitId: f.unitId, lat: f.lat, lon: f.lon, heading: f.heading, speed: f.speed, at: f.at.toISOString(), source: f.source }));
    moved.clear();
    await deps.eventLog.publishEphemeral('units', 'unit.positions', { positions }).catch((err: unknown) => deps.log.warn({ err }, 'could not fan out unit positions'));
  }

  return {
    /** The rate limit for a unit's next request: false means answer 429. */
    allow: (unitId: string) => limiter.take(unitId),
    /** Check and store a request's fixes; resolves once they are written. */
    async ingest(unitId: string, source: FixSource, fixes: Fix[], now = Date.now()) {
      const rejected: { index: number; code: string; reason: string }[] = [];
      const good: FixRow[] = [];
      const seen = new Set<number>();
      fixes.forEach((f, index) => {
        const v = checkFix(f, unitId, source, now);
        if (!v.ok) { rejected.push({ index, code: v.code, reason: v.reason }); return; }
        if (seen.has(v.fix.at.getTime())) return; // the same instant twice in one request: a duplicate
        seen.add(v.fix.at.getTime());
        good.push(v.fix);
      });
      let accepted = 0;
      if (good.length) {
        accepted = await new Promise<number>((resolve, reject) => {
          queue.push({ fixes: good, resolve, reject });
          writeTimer ??= setTimeout(() => void write(), WRITE_EVERY_MS);
        });
      }
      return { accepted, duplicates: fixes.length - rejected.length - accepted, rejected };
    },
    async stop(): Promise<void> {
      stopped = true;
      if (writeTimer) { clearTimeout(writeTimer); await write(); }
      if (fanoutTimer) { clearTimeout(fanoutTimer); await fanout(); }
    },
  };
}
