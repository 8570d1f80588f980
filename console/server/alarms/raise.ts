import type { Logger } from 'pino';
import type { Queryable } from '../../../core/db/pool.ts';
import type { EventLog } from '../../../core/events.ts';
import { healthReasons, reasonFields, sessionReasons, type HealthProbe } from './reasons.ts';
import { createAlarmRepository } from './repository.ts';
import { DEFAULT_SEVERITY, type Alarm, type RaiseInput } from './types.ts';

/** The realtime topic every alarm event goes out on. */
export const ALARMS_TOPIC = 'alarms';

/** What the health prober knows of a state change (gateway/health). */
export interface DeviceTransition {
  deviceId: string;
  name: string;
  from: string;
  to: string;
  reason: string | null;
  /** The probes behind the verdict: the alarm's reason codes come from them (reasons.ts healthReasons). */
  probe?: HealthProbe;
}

/** Which alarm a device state change raises, if any: offline, and back online after offline. */
export function transitionAlarm(t: Pick<DeviceTransition, 'from' | 'to'>): 'device_offline' | 'device_online' | null {
  if (t.to === 'offline' && t.from !== 'offline') return 'device_offline';
  if (t.from === 'offline' && (t.to === 'online' || t.to === 'degraded')) return 'device_online';
  return null;
}

/** Session failures of one camera within this window make one alarm (a restart loop is not a flood). */
const SESSION_FAILED_WINDOW_MS = 10 * 60_000;

/**
 * Raises alarms for the gateway (health, sessions, recordings) and, later, the face and plate
 * workers: the row first (a taken dedup key makes none), then the `alarm.raised` event on the
 * realtime log. Device name and location are filled from the registry when the raiser has none,
 * so an alarm still reads right after the device is renamed or removed.
 */
export function createAlarmRaiser(deps: { db: Queryable; eventLog: EventLog; log?: Logger }) {
  const repo = createAlarmRepository(deps.db);

  async function raise(input: RaiseInput): Promise<Alarm | null> {
    let deviceId = input.deviceId ?? null;
    let deviceName = input.deviceName ?? null;
    let lat = input.lat ?? null;
    let lon = input.lon ?? null;
    if (deviceId && (input.deviceName === undefined || input.lat === undefined || input.lon === undefined)) {
      const facts = await repo.deviceFacts(deviceId);
      if (!facts) deviceId = null; // removed meanwhile: keep what the raiser knew of it
      else {
        if (input.deviceName === undefined) deviceName = facts.name;
        if (input.lat === undefined) lat = facts.lat;
        if (input.lon === undefined) lon = facts.lon;
      }
    }
    const alarm = await repo.insert({
      kind: input.kind, severity: input.severity ?? DEFAULT_SEVERITY[input.kind], deviceId, deviceName, lat, lon,
      details: input.details ?? {}, dedupKey: input.dedupKey ?? null, raisedAt: input.raisedAt ?? null,
    });
    if (!alarm) return null;
    await deps.eventLog.append(ALARMS_TOPIC, 'alarm.raised', { alarm });
    deps.log?.info({ alarmId: alarm.id, kind: alarm.kind, deviceId: alarm.deviceId }, 'alarm raised');
    return alarm;
  }

  return {
    raise,

    /**
     * The alarm of a device state change (offline; back online), one per transition: the key is
     * the status-history row the change wrote, so a retried report of it raises nothing more.
     * Details: `{ from, to, reason, reasonCode, reasons }` — the raw text and its stable codes.
     */
    async deviceStatus(t: DeviceTransition): Promise<Alarm | null> {
      const kind = transitionAlarm(t);
      if (!kind) return null;
      const event = await repo.lastStatusEvent(t.deviceId, t.to);
      return raise({
        kind, deviceId: t.deviceId, deviceName: t.name,
        details: { from: t.from, to: t.to, reason: t.reason, ...reasonFields(healthReasons(t.probe)) },
        dedupKey: `${kind}:${t.deviceId}:${event ?? Math.floor(Date.now() / 60_000)}`,
      });
    },

    /**
     * A stream session that gave up (auth refused, bad URL, too many failures): one alarm per camera
     * per window. Details: `{ reason, reasonCode, reasons }` (codes from the gateway's fixed texts).
     */
    async sessionFailed(deviceId: string, reason: string | null): Promise<Alarm | null> {
      return raise({
        kind: 'session_failed', deviceId, details: { reason, ...reasonFields(sessionReasons(reason)) },
        dedupKey: `session_failed:${deviceId}:${Math.floor(Date.now() / SESSION_FAILED_WINDOW_MS)}`,
      });
    },

    /**
     * Recording gaps before newly indexed segments: each segment that starts at least
     * `minSeconds` after its camera's previous one ended raises one alarm (keyed by the segment).
     */
    async recordingGaps(segments: readonly { deviceId: string; startsAt: Date }[], minSeconds: number): Promise<Alarm[]> {
      const raised: Alarm[] = [];
      for (const gap of await repo.gapsBefore(segments, minSeconds)) {
        const seconds = Math.round((gap.to.getTime() - gap.from.getTime()) / 1000);
        const alarm = await raise({
          kind: 'recording_gap', deviceId: gap.deviceId, raisedAt: gap.to,
          details: { from: gap.from.toISOString(), to: gap.to.toISOString(), seconds },
          dedupKey: `recording_gap:${gap.deviceId}:${gap.to.toISOString()}`,
        });
        if (alarm) raised.push(alarm);
      }
      return raised;
    },
  };
}

export type AlarmRaiser = ReturnType<typeof createAlarmRaiser>;
