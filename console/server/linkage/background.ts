import type { Platform } from '../../../core/platform.ts';
import type { LinkageService } from './service.ts';

/** Cues past their acknowledgement deadline are looked for this often. */
export const ESCALATE_EVERY_MS = 2000;

/**
 * What the linkage does by itself in every console process: escalate cues nobody acknowledged in
 * time (each once across replicas: the rows are claimed with SKIP LOCKED), join face and plate
 * alarms inside an active ring to their incident (each once: the alarm's incident_id is set only
 * when empty), and file each new or moved incident under the grid (责任田) that holds it.
 */
export async function startLinkageBackground(platform: Platform, linkage: LinkageService, everyMs = ESCALATE_EVERY_MS): Promise<() => Promise<void>> {
  const { log, eventLog } = platform;
  let running = false;
  const timer = setInterval(() => {
    if (running) return;
    running = true;
    linkage.escalateDue().catch((err: unknown) => log.warn({ err }, 'cue escalation failed')).finally(() => { running = false; });
  }, everyMs);
  timer.unref();
  const unsubscribe = await eventLog.subscribe((event) => {
    if (event.topic === 'alarms' && event.kind === 'alarm.raised') {
      const a = event.payload.alarm as { id: string; kind: string; lat: number | null; lon: number | null; deviceName: string | null } | undefined;
      if (a && (a.kind === 'face' || a.kind === 'plate')) void linkage.alarmRaised(a).catch((err: unknown) => log.warn({ err, alarmId: a.id }, 'could not join the alarm to a ring'));
    }
    if (event.topic === 'incidents' && (event.kind === 'incident.created' || event.kind === 'incident.updated')) {
      const i = event.payload.incident as { id: string; lat: number | null; lon: number | null } | undefined;
      if (i) void fileUnderGrid(i).catch((err: unknown) => log.warn({ err, incidentId: i.id }, 'could not file the incident under its grid'));
    }
  });
  async function fileUnderGrid(i: { id: string; lat: number | null; lon: number | null }): Promise<void> {
    const unitId = i.lat === null || i.lon === null ? null : await linkage.gridAt(i.lat, i.lon);
    await linkage.repo.setIncidentGrid(i.id, unitId);
  }
  return async () => {
    clearInterval(timer);
    await unsubscribe();
  };
}
