import type { EventBus } from '../../core/redis.ts';
import type { Logger } from '../../core/log.ts';
import type { StreamKeyOwner } from './types.ts';

/**
 * What an RTMP push means to the rest of the gateway: the key names a registered mobile or body
 * camera; a push that starts puts it online (and, when it records, into the recording set); a push
 * that ends puts it offline and stops its stream session.
 */
export function createIngestService(deps: {
  log: Logger;
  devices: {
    byStreamKey(key: string): Promise<{ id: string; enabled: boolean } | null>;
    recordStatus(id: string, state: 'online' | 'offline', reason: string | null, seen: boolean): Promise<unknown>;
  };
  events: EventBus;
  /** The session manager (only `stop`). */
  sessions: { stop(deviceId: string, reason: string): Promise<void> };
  /** The set of pushing devices changed: recording may start or stop. */
  pushesChanged: () => void;
}) {
  const { log, devices, events } = deps;
  const quietly = (what: string, deviceId: string) => (err: Error) => log.warn({ deviceId, err: err.message }, what);

  function status(deviceId: string, state: 'online' | 'offline', reason: string): void {
    devices.recordStatus(deviceId, state, state === 'offline' ? reason : null, state === 'online').catch(quietly('could not record an RTMP device status', deviceId));
    events.publish('device.status', { deviceId, state, reason }).catch(quietly('could not publish an RTMP device status', deviceId));
  }

  return {
    async lookupStreamKey(key: string): Promise<StreamKeyOwner | null> {
      const device = await devices.byStreamKey(key);
      return device ? { deviceId: device.id, enabled: device.enabled } : null;
    },
    onPublish(deviceId: string): void {
      status(deviceId, 'online', 'RTMP push started');
      deps.pushesChanged();
    },
    onUnpublish(deviceId: string): void {
      status(deviceId, 'offline', 'RTMP push ended');
      deps.sessions.stop(deviceId, 'RTMP push ended').catch(quietly('could not stop a session', deviceId));
      deps.pushesChanged();
    },
  };
}
