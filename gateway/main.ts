import { createApp, type App } from '../core/http/app.ts';
import { badRequest, unavailable } from '../core/http/errors.ts';
import { healthRoute } from '../core/http/health.ts';
import { identityGuard } from '../core/identity/guard.ts';
import type { Platform } from '../core/platform.ts';
import { createDeviceRepository } from './devices/repository.ts';
import { createDeviceService } from './devices/service.ts';
import { createHealthScheduler, type HealthScheduler } from './health/scheduler.ts';
import { startRtmpIngest } from './ingest/rtmp.ts';
import type { RtmpIngest } from './ingest/types.ts';
import { createMembership, type Membership } from './nodes/membership.ts';
import { createNodeRepository } from './nodes/repository.ts';
import { checkOnvif } from './onvif/onvif-client.ts';
import { onvifInternalRoutes } from './onvif/routes.ts';
import { createOnvifService } from './onvif/service.ts';
import { createRecordingIndexer, type RecordingIndexer } from './recordings/indexer.ts';
import { createRecordingRepository } from './recordings/repository.ts';
import { recordingMediaRoutes } from './recordings/routes.ts';
import { createRecordingService } from './recordings/service.ts';
import { mediaLayout, type MediaLayout } from './streams/layout.ts';
import { createStreamRepository } from './streams/repository.ts';
import { streamInternalRoutes, streamMediaRoutes } from './streams/routes.ts';
import { createSessionManager, type SessionManager } from './streams/sessions.ts';
import type { StreamSource } from './streams/types.ts';

export interface Gateway {
  app: App;
  membership: Membership;
  health: HealthScheduler;
  sessions: SessionManager;
  indexer: RecordingIndexer;
  rtmp: RtmpIngest;
  layout: MediaLayout;
  close(): Promise<void>;
}

export function gatewayUrls(config: Platform['config']) {
  const local = `http://127.0.0.1:${config.gateway.port}`;
  return { publicUrl: config.gateway.publicUrl ?? local, internalUrl: config.gateway.internalUrl ?? local };
}

/**
 * The gateway process: the media and device plane. It leases its share of the
 * registry, probes device health, runs ONVIF operations for the console, one
 * stream session per camera (live HLS and recording), the recording index, RTMP
 * ingest for mobile cameras, and serves media to browsers holding a signed token.
 */
export async function startGateway(platform: Platform, options: { listen?: boolean } = {}): Promise<Gateway> {
  const { config, pool, redis, keys, identity, events } = platform;
  const nodeId = config.gateway.nodeId;
  const log = platform.log.child({ process: 'gateway', node: nodeId });
  const app = await createApp({ logger: log, title: 'Skynet gateway', openapi: false });
  let ready = false;
  app.addHook('onReady', async () => { ready = true; });

  const layout = mediaLayout(config.dataDir);
  const devices = createDeviceService({ repo: createDeviceRepository(pool), boxKey: keys.box });
  const onvif = createOnvifService({ connection: devices.connection, timeoutMs: config.health.timeoutMs * 2 });
  const streamRepo = createStreamRepository(pool);
  const recordingRepo = createRecordingRepository(pool);

  // RTMP pushes from mobile and body cameras; a push is a device's source while it lasts.
  let rtmp: RtmpIngest | null = null;
  let sessions: SessionManager | null = null;
  const syncRecording = async () => {
    const conns = await devices.connections(membership.held());
    const pushing = new Set(rtmp?.publishing() ?? []);
    await sessions!.setRecording(conns.filter((c) => c.enabled && c.recordingMode === 'continuous' && (c.kind !== 'mobile' || pushing.has(c.id))).map((c) => c.id));
  };
  const syncSoon = () => { syncRecording().catch((err: Error) => log.warn({ err: err.message }, 'could not update the recording set')); };

  rtmp = await startRtmpIngest({
    log, host: config.ingest.rtmpHost, port: config.ingest.rtmpPort,
    lookupStreamKey: async (key) => {
      const device = await devices.byStreamKey(key);
      return device ? { deviceId: device.id, enabled: device.enabled } : null;
    },
    onPublish: (deviceId) => {
      void devices.recordStatus(deviceId, 'online', null, true).catch(() => {});
      void events.publish('device.status', { deviceId, state: 'online', reason: 'RTMP push started' }).catch(() => {});
      syncSoon();
    },
    onUnpublish: (deviceId) => {
      void devices.recordStatus(deviceId, 'offline', 'RTMP push ended', false).catch(() => {});
      void events.publish('device.status', { deviceId, state: 'offline', reason: 'RTMP push ended' }).catch(() => {});
      void sessions?.stop(deviceId, 'RTMP push ended').catch(() => {});
      syncSoon();
    },
  });

  const sourceOf = async (deviceId: string): Promise<StreamSource> => {
    const c = await devices.connection(deviceId);
    if (!c.enabled) throw unavailable('this device is disabled');
    if (c.credentialError) throw unavailable(c.credentialError);
    let url = c.rtspMain;
    if (c.kind === 'mobile') {
      if (!c.streamKey || !rtmp!.publishing().includes(deviceId)) throw unavailable('this mobile camera is not pushing video right now');
      url = rtmp!.sourceUrl(c.streamKey);
    }
    if (!url) throw badRequest('this device has no stream URL', 'streams.main');
    return { deviceId, name: c.name, url, username: c.username, password: c.password, encoding: c.encoding, record: c.recordingMode === 'continuous' };
  };

  sessions = createSessionManager({
    log: log.child({ component: 'streams' }), layout,
    maxSessions: config.gateway.maxSessions,
    idleStopMs: config.gateway.idleStopSeconds * 1000,
    minFreeMb: config.gateway.minFreeMb,
    source: sourceOf,
    onStateChange: (change) => {
      streamRepo.recordChange(nodeId, change).catch((err: Error) => log.warn({ err: err.message }, 'could not record a stream state change'));
      events.publish('stream.state', { deviceId: change.deviceId, state: change.state, reason: change.reason, mode: change.mode }).catch(() => {});
    },
  });

  const recordings = createRecordingService({ repo: recordingRepo });
  const indexer = createRecordingIndexer({
    log: log.child({ component: 'recordings' }), layout, repo: recordingRepo, nodeId,
    isRecording: (id) => { const s = sessions!.get(id); return Boolean(s?.recording && s.state !== 'stopped'); },
  });

  await app.register(identityGuard, { identity });
  await app.register(healthRoute, { process: 'gateway', timezone: config.site.timezone, siteName: config.site.name, pool, redis, ready: () => ready });
  await app.register(onvifInternalRoutes, { onvif });
  await app.register(streamInternalRoutes, { sessions });
  await app.register(streamMediaRoutes, { sessions, layout, mediaKey: keys.media });
  await app.register(recordingMediaRoutes, { recordings, keys: { media: keys.media }, layout });

  if (options.listen !== false) await app.listen({ host: config.gateway.host, port: config.gateway.port });
  else await app.ready();
  // Port 0 (tests) means "any free port": advertise the one we got.
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : config.gateway.port;
  const urls = gatewayUrls({ ...config, gateway: { ...config.gateway, port } });
  let health: HealthScheduler | null = null;
  const membership = createMembership({
    log, nodes: createNodeRepository(pool), databaseUrl: config.database.url, leaseSeconds: config.gateway.leaseSeconds,
    node: { id: nodeId, ...urls, maxSessions: config.gateway.maxSessions },
    onChange: ({ added, removed, edited }) => {
      health?.checkSoon([...added, ...edited]);
      for (const id of [...removed, ...edited]) void sessions!.reconcile(id).catch((err: Error) => log.warn({ deviceId: id, err: err.message }, 'reconcile failed'));
      syncSoon();
    },
  });
  health = createHealthScheduler({
    log: log.child({ component: 'health' }),
    held: membership.held,
    connections: devices.connections,
    recordStatus: devices.recordStatus,
    checkOnvif,
    events,
    reportCycle: (report) => redis.set(`${config.redis.prefix}health:last-cycle:${nodeId}`, JSON.stringify(report)).then(() => {}),
    intervalSeconds: config.health.intervalSeconds,
    concurrency: config.health.concurrency,
    timeoutMs: config.health.timeoutMs,
  });

  await membership.start();
  health.start();
  indexer.start();

  return {
    app, membership, health, sessions, indexer, rtmp, layout,
    async close() {
      await health!.stop();
      await sessions!.close();
      await indexer.stop();
      await rtmp!.close();
      await membership.stop();
      await app.close();
    },
  };
}
