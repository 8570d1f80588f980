import { badRequest, unavailable } from '../../core/http/errors.ts';
import type { Logger } from '../../core/log.ts';
import type { DeviceConnection } from '../devices/types.ts';
import type { StreamName } from './keys.ts';
import type { StreamSource } from './types.ts';

/**
 * What the node's stream sessions pull and which of them record, from the registry and the RTMP
 * pushes in progress: a camera's own stream URL, or, for a mobile camera, its push while it lasts.
 */

/** What sources need of the registry (passwords decrypted). */
export interface SourceRegistry {
  connection(id: string): Promise<DeviceConnection>;
  connections(ids: string[]): Promise<DeviceConnection[]>;
}

/** What sources need of RTMP ingest. */
export interface PushedStreams {
  publishing(): string[];
  sourceUrl(deviceId: string): string;
}

/** Whether a camera has a sub stream of its own (not the main stream again, as a one-profile camera reports). */
export function hasSubStream(c: { kind: string; rtspMain: string | null; rtspSub: string | null }): boolean {
  return c.kind !== 'mobile' && Boolean(c.rtspSub) && c.rtspSub !== c.rtspMain;
}

/** The source a device's stream session pulls; throws (4xx/503 HttpError) when it cannot run now. */
export function sourceOfConnection(c: DeviceConnection, pushes: PushedStreams, stream: StreamName = 'main'): StreamSource {
  if (!c.enabled) throw unavailable('this device is disabled');
  if (c.credentialError) throw unavailable(c.credentialError);
  if (stream === 'sub') {
    if (!hasSubStream(c)) throw badRequest('this camera has no sub stream', { field: 'stream', code: 'live.no_sub_stream' });
    return { deviceId: c.id, name: c.name, url: c.rtspSub!, username: c.username, password: c.password, encoding: c.subEncoding, record: false, stream };
  }
  let url = c.rtspMain;
  if (c.kind === 'mobile') {
    if (!pushes.publishing().includes(c.id)) throw unavailable('this mobile camera is not pushing video right now');
    url = pushes.sourceUrl(c.id);
  }
  if (!url) throw badRequest('this device has no stream URL', 'streams.main');
  return { deviceId: c.id, name: c.name, url, username: c.username, password: c.password, encoding: c.encoding, record: c.recordingMode === 'continuous', stream };
}

/** Devices that record always: enabled, continuous, and (mobile cameras) pushing right now. */
export function recordingSet(conns: readonly DeviceConnection[], pushing: ReadonlySet<string>): string[] {
  return conns.filter((c) => c.enabled && c.recordingMode === 'continuous' && (c.kind !== 'mobile' || pushing.has(c.id))).map((c) => c.id);
}

export function createStreamSources(deps: {
  log: Logger;
  devices: SourceRegistry;
  /** RTMP ingest; read at each call (it starts after the session manager). */
  pushes: () => PushedStreams | null;
  /** The devices this node holds. */
  held: () => string[];
  /** The session manager's recording set and reconcile. */
  setRecording: (deviceIds: string[]) => Promise<void>;
  reconcile: (deviceId: string) => Promise<void>;
}) {
  const noPushes: PushedStreams = { publishing: () => [], sourceUrl: () => { throw unavailable('RTMP ingest is not running'); } };

  /** Bring the recording set in line with the registry and the pushes in progress. */
  async function syncRecording(): Promise<void> {
    const conns = await deps.devices.connections(deps.held());
    await deps.setRecording(recordingSet(conns, new Set(deps.pushes()?.publishing() ?? [])));
  }

  function syncSoon(): void {
    syncRecording().catch((err: Error) => deps.log.warn({ err: err.message }, 'could not update the recording set'));
  }

  return {
    /** The session manager's `source`. */
    async sourceOf(deviceId: string, stream: StreamName = 'main'): Promise<StreamSource> {
      return sourceOfConnection(await deps.devices.connection(deviceId), deps.pushes() ?? noPushes, stream);
    },
    syncRecording,
    /** Devices this node lost or whose registry row changed: their sessions restart, stop or start recording. */
    registryChanged(deviceIds: string[]): void {
      for (const id of deviceIds) deps.reconcile(id).catch((err: Error) => deps.log.warn({ deviceId: id, err: err.message }, 'reconcile failed'));
      syncSoon();
    },
    /** Sync in the background; a failure is logged (the next change syncs again). */
    syncSoon,
  };
}

export type StreamSources = ReturnType<typeof createStreamSources>;
