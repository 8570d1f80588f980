import { createApp, type App } from '../core/http/app.ts';
import { healthRoute } from '../core/http/health.ts';
import { identityGuard } from '../core/identity/guard.ts';
import type { Platform } from '../core/platform.ts';
import { createDeviceRepository } from './devices/repository.ts';
import { createDeviceService } from './devices/service.ts';
import { frameInternalRoutes } from './frames/routes.ts';
import { createFrameService } from './frames/service.ts';
import { createHealthScheduler, type HealthScheduler } from './health/scheduler.ts';
import { startRtmpIngest } from './ingest/rtmp.ts';
import { createIngestService } from './ingest/service.ts';
import type { RtmpIngest } from './ingest/types.ts';
import { createMembership, type Membership } from './nodes/membership.ts';
import { createNodeRepository } from './nodes/repository.ts';
import { checkOnvif } from './onvif/onvif-client.ts';
import { onvifInternalRoutes } from './onvif/routes.ts';
import { createOnvifService } from './onvif/service.ts';
import { createRecordingIndexer, type RecordingIndexer } from './recordings/indexer.ts';
import { createRecordingRepository } from './recordings/repository.ts';
import { recordingInternalRoutes } from './recordings/internal-routes.ts';
import { createMediaFiles } from './recordings/media-files.ts';
import { recordingMediaRoutes } from './recordings/routes.ts';
import { createRecordingService, createVodService } from './recordings/service.ts';
import { createMediaAuth } from './streams/media-auth.ts';
import { createRevocationSet } from './streams/revocations.ts';
import { createLiveMediaService } from './streams/service.ts';
import { createIdentityRepository } from '../core/identity/repository.ts';
import { mediaLayout, type MediaLayout } from './streams/layout.ts';
import { createLowLatencyHub } from './lowlat/hub.ts';
import { lowLatencyRoutes } from './lowlat/routes.ts';
import { streamKey } from './streams/keys.ts';
import { createStreamRepository } from './streams/repository.ts';
import { streamInternalRoutes, streamMediaRoutes } from './streams/routes.ts';
import { createSessionManager, type SessionManager } from './streams/sessions.ts';
import { createStreamSources } from './streams/sources.ts';
import { createAlarmRaiser } from '../console/server/alarms/raise.ts';

export interface Gateway {
  /** The public listener: media for browsers (signed tokens) and /api/health. */
  app: App;
  /** The internal listener: /internal/* for the console (service token), on the internal address. */
  internalApp: App;
  membership: Membership;
  health: HealthScheduler;
  sessions: SessionManager;
  indexer: RecordingIndexer;
  rtmp: RtmpIngest;
  layout: MediaLayout;
  close(): Promise<void>;
}

export function gatewayUrls(config: Platform['config']) {
  const { gateway } = config;
  return {
    publicUrl: gateway.publicUrl ?? `http://127.0.0.1:${gateway.port}`,
    internalUrl: gateway.internalUrl ?? `http://127.0.0.1:${gateway.internalPort}`,
  };
}

/** The port a listening app is bound to (port 0 in tests means "any free port"). */
function boundPort(app: App, configured: number): number {
  const address = app.server.address();
  return typeof address === 'object' && address ? address.port : configured;
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
  const internalApp = await createApp({ logger: log.child({ listener: 'internal' }), title: 'Skynet gateway (internal)', openapi: false });
  let ready = false;
  app.addHook('onReady', async () => { ready = true; });

  const layout = mediaLayout(config.dataDir);
  const devices = createDeviceService({ repo: createDeviceRepository(pool), boxKey: keys.box });
  const onvif = createOnvifService({ connection: devices.connection, timeoutMs: config.health.timeoutMs * 2 });
  const streamRepo = createStreamRepository(pool);
  const recordingRepo = createRecordingRepository(pool);
  const alarms = createAlarmRaiser({ db: pool, eventLog: platform.eventLog, log: log.child({ component: 'alarms' }) });

  // Stream sessions pull what `sources` says: a camera's stream, or a mobile camera's RTMP push
  // while it lasts (RTMP ingest starts below; `sources` reads it at each call).
  let rtmp: RtmpIngest | null = null;
  let membership: Membership | null = null;
  // The low-latency path: each session's ffmpeg also writes fMP4 fragments, fanned out over WebSockets.
  // A camera reconfigured in band (new parameter sets on the same RTSP session) restarts its session.
  const lowlat = createLowLatencyHub({ log: log.child({ component: 'lowlat' }), onParameterChange: (key, reason) => sessions.restart(key, reason) });
  const sessions: SessionManager = createSessionManager({
    log: log.child({ component: 'streams' }), layout,
    maxSessions: config.gateway.maxSessions,
    idleStopMs: config.gateway.idleStopSeconds * 1000,
    minFreeMb: config.gateway.minFreeMb,
    maxTranscodes: config.gateway.maxTranscodes,
    transcode: { maxHeight: config.gateway.transcodeMaxHeight, maxFps: config.gateway.transcodeMaxFps },
    source: (deviceId, stream) => sources.sourceOf(deviceId, stream),
    lowLatency: (key) => lowlat.feed(key),
    tap: (key) => ({ open: (sink) => lowlat.tap(key, sink) }),
    onStateChange: (change) => {
      events.publish('stream.state', { deviceId: change.deviceId, stream: change.stream, state: change.state, reason: change.reason, mode: change.mode }).catch(() => {});
      if (change.state === 'stopped') lowlat.closeKey(streamKey(change.deviceId, change.stream), change.reason ?? 'stopped');
      // The camera's history and alarms follow its main stream (a sub stream is a view of the same camera).
      if (change.stream !== 'main') return;
      streamRepo.recordChange(nodeId, change).catch((err: Error) => log.warn({ err: err.message }, 'could not record a stream state change'));
      if (change.state === 'failed') alarms.sessionFailed(change.deviceId, change.reason).catch((err: Error) => log.error({ err: err.message }, 'could not raise the session alarm'));
    },
  });
  const sources = createStreamSources({
    log, devices, pushes: () => rtmp, held: () => membership?.held() ?? [], setRecording: (ids) => sessions.setRecording(ids), reconcile: (id) => sessions.reconcile(id),
  });
  rtmp = await startRtmpIngest({
    log, host: config.ingest.rtmpHost, port: config.ingest.rtmpPort,
    ...createIngestService({ log, devices, events, sessions, pushesChanged: sources.syncSoon }),
  });

  const recordings = createRecordingService({ repo: recordingRepo });
  const indexer = createRecordingIndexer({
    log: log.child({ component: 'recordings' }), layout, repo: recordingRepo, nodeId,
    isRecording: (id) => { const s = sessions.get(id); return Boolean(s?.recording && s.state !== 'stopped'); },
    onIndexed: (rows) => alarms.recordingGaps(rows, config.alarms.recordingGapSeconds),
  });

  const healthOptions = { process: 'gateway', timezone: config.site.timezone, siteName: config.site.name, pool, redis, ready: () => ready } as const;
  // Public listener: media for browsers and the health check. Nothing under /internal/ (404).
  await app.register(identityGuard, { identity });
  await app.register(healthRoute, healthOptions);
  // Media tokens: verified with the key of the kid they name, refused once their user is revoked.
  await platform.mediaKeys.ready();
  const revocations = createRevocationSet({
    revokedSince: createIdentityRepository(pool).revokedSince, events, log, onRevoked: (userId) => lowlat.closeUser(userId),
  });
  await revocations.start();
  const mediaAuth = createMediaAuth({ keys: platform.mediaKeys, revocations });
  await app.register(streamMediaRoutes, { media: createLiveMediaService({ sessions, layout, auth: mediaAuth }) });
  await app.register(lowLatencyRoutes, { hub: lowlat, auth: mediaAuth, sessions });
  await app.register(recordingMediaRoutes, { vod: createVodService({ recordings, auth: mediaAuth, layout }) });
  // Internal listener (service token only), bound to the internal address.
  await internalApp.register(identityGuard, { identity });
  await internalApp.register(healthRoute, healthOptions);
  await internalApp.register(onvifInternalRoutes, { onvif });
  await internalApp.register(streamInternalRoutes, { sessions });
  await internalApp.register(recordingInternalRoutes, { files: createMediaFiles({ repo: recordingRepo, root: layout.root }) });
  await internalApp.register(frameInternalRoutes, {
    frames: createFrameService({ log, sessions, layout, connection: devices.connection, timeoutMs: config.evidence.snapshotTimeoutMs }),
  });

  if (options.listen !== false) {
    await app.listen({ host: config.gateway.host, port: config.gateway.port });
    await internalApp.listen({ host: config.gateway.internalHost, port: config.gateway.internalPort });
  } else {
    await app.ready();
    await internalApp.ready();
  }
  // Port 0 (tests) means "any free port": advertise the ones we got.
  const urls = gatewayUrls({
    ...config,
    gateway: { ...config.gateway, port: boundPort(app, config.gateway.port), internalPort: boundPort(internalApp, config.gateway.internalPort) },
  });
  let health: HealthScheduler | null = null;
  membership = createMembership({
    log, nodes: createNodeRepository(pool), databaseUrl: config.database.url, leaseSeconds: config.gateway.leaseSeconds,
    node: { id: nodeId, ...urls, maxSessions: config.gateway.maxSessions },
    onChange: ({ added, removed, edited }) => {
      health?.checkSoon([...added, ...edited]);
      sources.registryChanged([...removed, ...edited]);
    },
  });
  health = createHealthScheduler({
    log: log.child({ component: 'health' }),
    held: membership.held,
    connections: devices.connections,
    // Sessions follow the health judgement: a dead camera's retries back off to minutes, a revived one retries at once.
    recordStatus: async (id, state, reason, seen) => {
      const previous = await devices.recordStatus(id, state, reason, seen);
      sessions.setHealth(id, state);
      return previous;
    },
    checkOnvif,
    events,
    eventLog: platform.eventLog,
    alarms,
    reportCycle: (report) => redis.set(`${config.redis.prefix}health:last-cycle:${nodeId}`, JSON.stringify(report)).then(() => {}),
    intervalSeconds: config.health.intervalSeconds,
    concurrency: config.health.concurrency,
    timeoutMs: config.health.timeoutMs,
  });

  await membership.start();
  health.start();
  indexer.start();

  return {
    app, internalApp, membership, health, sessions, indexer, rtmp, layout,
    async close() {
      await health!.stop();
      await sessions.close();
      lowlat.close();
      await indexer.stop();
      await rtmp!.close();
      await membership!.stop();
      await revocations.stop();
      await internalApp.close();
      await app.close();
    },
  };
}
