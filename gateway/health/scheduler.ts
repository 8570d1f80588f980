import type { Logger } from 'pino';
import type { EventBus } from '../../core/redis.ts';
import type { EventLog } from '../../core/events.ts';
import type { AlarmRaiser } from '../../console/server/alarms/raise.ts';
import type { DeviceConnection, DeviceState } from '../devices/types.ts';
import { judgeHealth, type CheckResult } from './judge.ts';
import { rtspOptions } from './rtsp-probe.ts';

export interface HealthDeps {
  log: Logger;
  /** Device ids this node holds now. */
  held: () => string[];
  connections: (ids: string[]) => Promise<DeviceConnection[]>;
  recordStatus: (id: string, state: DeviceState, reason: string | null, seen: boolean) => Promise<DeviceState | null>;
  checkOnvif: (conn: { host: string; port: number; username: string; password: string; timeoutMs: number }) => Promise<{ ok: true } | { ok: false; code: string; message: string }>;
  events: EventBus;
  /** The realtime log (console WebSocket): each state change also goes out as devices / device.status. */
  eventLog?: Pick<EventLog, 'append'>;
  /** Raises device_offline / device_online alarms for state changes (console/server/alarms/raise.ts). */
  alarms?: Pick<AlarmRaiser, 'deviceStatus'>;
  /** Where the last cycle's report is kept, so its absence can raise an alarm. */
  reportCycle: (report: CycleReport) => Promise<void>;
  intervalSeconds: number;
  concurrency: number;
  timeoutMs: number;
}

export interface CycleReport {
  startedAt: string;
  durationMs: number;
  devices: number;
  online: number;
  offline: number;
  degraded: number;
  unknown: number;
  changed: number;
}

/** Run `fn` over `items` with at most `limit` at once. */
async function mapLimit<T>(items: T[], limit: number, fn: (item: T) => Promise<void>, stopped: () => boolean): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length && !stopped()) await fn(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

/**
 * Probes every device this node holds on a schedule, with bounded concurrency
 * and a time limit per probe, and on demand when the registry changes. A state
 * change is stored with its reason and published as a `device.status` event.
 */
export function createHealthScheduler(deps: HealthDeps) {
  let timer: NodeJS.Timeout | null = null;
  let running: Promise<CycleReport> | null = null;
  let stopping = false;
  const urgent = new Set<string>();
  let urgentTimer: NodeJS.Timeout | null = null;

  async function checkOne(conn: DeviceConnection, tally?: Record<DeviceState, number> & { changed: number }): Promise<void> {
    if (conn.kind === 'mobile' && !conn.onvifHost && !conn.rtspMain) return; // mobile status comes from RTMP presence
    const checks: { onvif?: CheckResult; rtsp?: CheckResult } = {};
    const timeoutMs = deps.timeoutMs;
    await Promise.all([
      conn.onvifHost ? deps.checkOnvif({ host: conn.onvifHost, port: conn.onvifPort ?? 80, username: conn.username ?? '', password: conn.password ?? '', timeoutMs })
        .then((r) => { checks.onvif = r.ok ? { ok: true } : { ok: false, code: r.code, message: r.message }; })
        .catch((err: Error) => { checks.onvif = { ok: false, code: 'protocol', message: `ONVIF: ${err.message}` }; }) : undefined,
      conn.rtspMain ? rtspOptions(conn.rtspMain, timeoutMs)
        .then((r) => { checks.rtsp = r.ok ? { ok: true } : { ok: false, code: r.code, message: r.message }; }) : undefined,
    ]);
    const judged = judgeHealth(checks);
    const verdict = conn.credentialError && judged.state === 'online'
      ? { state: 'degraded' as const, reason: conn.credentialError, seen: true }
      : judged;
    try {
      const previous = await deps.recordStatus(conn.id, verdict.state, verdict.reason, verdict.seen);
      if (tally) tally[verdict.state]++;
      if (previous !== null) {
        if (tally) tally.changed++;
        deps.log.info({ deviceId: conn.id, from: previous, to: verdict.state, reason: verdict.reason }, 'device status changed');
        await deps.events.publish('device.status', { deviceId: conn.id, name: conn.name, from: previous, state: verdict.state, reason: verdict.reason }).catch(() => {});
        await deps.eventLog?.append('devices', 'device.status', { deviceId: conn.id, name: conn.name, status: verdict.state, reason: verdict.reason })
          .catch((err: Error) => deps.log.warn({ deviceId: conn.id, err: err.message }, 'could not log the device status event'));
        await deps.alarms?.deviceStatus({
          deviceId: conn.id, name: conn.name, from: previous, to: verdict.state, reason: verdict.reason,
          probe: { ...checks, onvifAddress: conn.onvifHost ? `${conn.onvifHost}:${conn.onvifPort ?? 80}` : null, rtspUrl: conn.rtspMain, credentialError: conn.credentialError },
        })
          .catch((err: Error) => deps.log.error({ deviceId: conn.id, err: err.message }, 'could not raise the device status alarm'));
      }
    } catch (err) {
      // The device was deleted while probing, or the database blinked: next cycle tries again.
      deps.log.warn({ deviceId: conn.id, err: (err as Error).message }, 'could not record device status');
    }
  }

  async function cycle(ids: string[]): Promise<CycleReport> {
    const started = Date.now();
    const tally = { online: 0, offline: 0, degraded: 0, unknown: 0, changed: 0 };
    const conns = (await deps.connections(ids)).filter((c) => c.enabled);
    await mapLimit(conns, deps.concurrency, (c) => checkOne(c, tally), () => stopping);
    return { startedAt: new Date(started).toISOString(), durationMs: Date.now() - started, devices: conns.length, ...tally };
  }

  const scheduler = {
    /** One full cycle over every held device (also what the benchmark times). */
    async runCycle(): Promise<CycleReport> {
      if (running) return running;
      running = cycle(deps.held())
        .then(async (report) => {
          await deps.reportCycle(report).catch((err: Error) => deps.log.warn({ err: err.message }, 'could not store the health cycle report'));
          deps.log.info(report, 'health cycle done');
          return report;
        })
        .finally(() => { running = null; });
      return running;
    },

    start(): void {
      stopping = false;
      const tick = () => {
        scheduler.runCycle().catch((err: Error) => deps.log.error({ err: err.message }, 'health cycle failed'))
          .finally(() => { if (!stopping) timer = setTimeout(tick, deps.intervalSeconds * 1000); });
      };
      timer = setTimeout(tick, 1000);
    },

    /** Probe these devices soon (coalesced for 200 ms): a device added or edited is judged at once. */
    checkSoon(ids: string[]): void {
      for (const id of ids) urgent.add(id);
      if (urgentTimer || stopping) return;
      urgentTimer = setTimeout(() => {
        urgentTimer = null;
        const batch = [...urgent];
        urgent.clear();
        cycle(batch).catch((err: Error) => deps.log.warn({ err: err.message }, 'urgent health check failed'));
      }, 200);
    },

    async stop(): Promise<void> {
      stopping = true;
      if (timer) clearTimeout(timer);
      if (urgentTimer) clearTimeout(urgentTimer);
      // A probe in flight ends within its own timeout; wait for that, no longer.
      if (running) await Promise.race([running.catch(() => {}), new Promise((r) => setTimeout(r, deps.timeoutMs + 500))]);
    },
  };
  return scheduler;
}

export type HealthScheduler = ReturnType<typeof createHealthScheduler>;
