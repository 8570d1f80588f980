import helmet from '@fastify/helmet';
import { createApp, type App } from '../../core/http/app.ts';
import { healthRoute } from '../../core/http/health.ts';
import { identityGuard } from '../../core/identity/guard.ts';
import { identityRoutes } from '../../core/identity/routes.ts';
import { auditRoutes } from '../../core/audit/routes.ts';
import { auditFailures } from '../../core/audit/failures.ts';
import type { LoginLimits } from '../../core/identity/login-limits.ts';
import type { Config } from '../../config/schema.ts';
import type { Platform } from '../../core/platform.ts';
import { createDeviceRepository } from '../../gateway/devices/repository.ts';
import { deviceRoutes } from '../../gateway/devices/routes.ts';
import { createDeviceService } from '../../gateway/devices/service.ts';
import { createGatewayClient } from '../../gateway/nodes/client.ts';
import { createNodeRepository } from '../../gateway/nodes/repository.ts';
import { onvifUserRoutes } from '../../gateway/onvif/routes.ts';
import { createRecordingRepository } from '../../gateway/recordings/repository.ts';
import { recordingUserRoutes } from '../../gateway/recordings/routes.ts';
import { createFootageService, createRecordingService } from '../../gateway/recordings/service.ts';
import { createStreamRepository } from '../../gateway/streams/repository.ts';
import { streamUserRoutes } from '../../gateway/streams/routes.ts';
import { createLiveService } from '../../gateway/streams/service.ts';
import { mediaKeyRoutes } from '../../core/media-keys/routes.ts';
import { BOARD_PATH, registerQueueBoard } from '../../workers/board.ts';
import { createWorkerDeps } from '../../workers/deps.ts';
import { exportRoutes } from '../../workers/export/routes.ts';
import { createExportService } from '../../workers/export/service.ts';
import { retentionRoutes } from '../../workers/retention/routes.ts';
import { createRetentionService } from '../../workers/retention/service.ts';
import { jobRoutes } from '../../workers/routes.ts';
import { snapshotRoutes } from '../../workers/snapshot/routes.ts';
import { createSnapshotService } from '../../workers/snapshot/service.ts';
import { ADMIN } from '../../core/identity/types.ts';
import { webApp } from './web.ts';
import type { ConsoleContext } from './context.ts';
import { realtimeRoutes } from './realtime/routes.ts';
import { alarmRoutes } from './alarms/routes.ts';
import { incidentRoutes } from './incidents/routes.ts';
import { searchRoutes } from './search/routes.ts';
import { mapRoutes } from './map/routes.ts';
import { wallRoutes } from './wall/routes.ts';
import { statsRoutes } from './stats/routes.ts';
import { siteRoutes } from '../../gateway/sites/routes.ts';
import { startLinkageBackground } from './linkage/background.ts';
import { patrolRoutes } from './linkage/patrol-routes.ts';
import { createPositionIngest } from './linkage/positions.ts';
import { linkageRoutes } from './linkage/routes.ts';
import { createLinkageService } from './linkage/service.ts';

/**
 * The console process: the one origin people talk to. Login, the user API
 * (identity, audit, the device registry, PTZ through the gateway) and the web app.
 */
export async function buildConsole(platform: Platform): Promise<App> {
  const { config, pool, redis, identity, audit, keys } = platform;
  const app = await createApp({
    logger: platform.log.child({ process: 'console' }), title: 'Skynet console API', openapi: true, bodyLimit: 8 * 1024 * 1024,
    trustProxy: config.console.trustProxy,
  });
  let ready = false;
  app.addHook('onReady', async () => { ready = true; });

  await app.register(helmet, {
    contentSecurityPolicy: {
      directives: {
        defaultSrc: ["'self'"],
        scriptSrc: ["'self'"],
        styleSrc: ["'self'", "'unsafe-inline'"],
        imgSrc: ["'self'", 'data:', 'blob:'],
        mediaSrc: ["'self'", 'blob:'],
        // Media comes from gateway nodes (another origin); hls.js fetches it and feeds MSE through blob: URLs.
        connectSrc: ["'self'", 'ws:', 'wss:', 'http:', 'https:'],
        workerSrc: ["'self'", 'blob:'],
        upgradeInsecureRequests: null,
      },
    },
    strictTransportSecurity: config.console.secureCookies,
  });
  await app.register(identityGuard, {
    identity, allowedOrigins: [...(config.console.publicUrl ? [config.console.publicUrl] : []), ...config.console.allowedOrigins],
    // Bull Board registers its own pages and API: all of it is for admins.
    prefixAccess: [{ prefix: BOARD_PATH, access: { roles: ADMIN } }],
  });
  await app.register(auditFailures, { audit });
  await app.register(healthRoute, { process: 'console', timezone: config.site.timezone, siteName: config.site.name, pool, redis, ready: () => ready });
  await app.register(identityRoutes, {
    identity, audit, redis, redisPrefix: config.redis.prefix,
    secureCookies: config.console.secureCookies, loginLimits: loginLimitsOf(config.console.login),
  });
  await app.register(auditRoutes, { audit, timezone: config.site.timezone });

  const devices = createDeviceService({ repo: createDeviceRepository(pool), boxKey: keys.box });
  const gateway = createGatewayClient({ nodes: createNodeRepository(pool), serviceToken: keys.serviceToken, leaseSeconds: config.gateway.leaseSeconds });
  await app.register(deviceRoutes, { devices, audit, timezone: config.site.timezone });
  await app.register(onvifUserRoutes, { gateway, devices, audit });
  await app.register(mediaKeyRoutes, { keyring: platform.mediaKeys });
  const live = createLiveService({ gateway, devices, audit, keys: platform.mediaKeys, streams: createStreamRepository(pool) });
  await app.register(streamUserRoutes, { live });
  const footage = createFootageService({
    recordings: createRecordingService({ repo: createRecordingRepository(pool) }), devices, audit, keys: platform.mediaKeys,
    gatewayPublicUrl: async (deviceId: string) => (await gateway.footageNode(deviceId)).publicUrl, timezone: config.site.timezone,
  });
  await app.register(recordingUserRoutes, { footage });
  await app.register(siteRoutes, { platform });
  // Jobs and evidence: producers add through the schemas of workers/jobs.ts; job state, run
  // records and the queue board; snapshots, exports and retention (their routes live with them).
  const work = createWorkerDeps(platform);
  app.addHook('onClose', async () => { await work.jobs.close(); });
  await app.register(jobRoutes, { jobs: work.jobs, runs: work.runs, audit });
  await registerQueueBoard(app, work.jobs);
  const snapshots = createSnapshotService(work);
  const exports = createExportService(work);
  await app.register(snapshotRoutes, { snapshots });
  await app.register(exportRoutes, { exports });
  await app.register(retentionRoutes, { retention: createRetentionService(work) });
  // The control room: realtime channel, alarms, incidents, video search, map, wall and tours.
  const ctx: ConsoleContext = { platform, work, live, footage, snapshots, exports };
  // Monitor-patrol linkage (监巡联动): a patrol user hears `unit:<id>` of their own unit only.
  const linkage = createLinkageService(ctx);
  const positions = createPositionIngest({ repo: linkage.repo, eventLog: platform.eventLog, log: platform.log.child({ feature: 'gps' }), maxPerSecond: config.linkage.maxFixesPerSecond });
  await app.register(realtimeRoutes, {
    ctx, isMember: async (topic, principal) => topic.startsWith('unit:') && linkage.mayHearUnit(topic.slice(5), principal),
  });
  await app.register(alarmRoutes, { ctx });
  await app.register(incidentRoutes, { ctx });
  await app.register(searchRoutes, { ctx });
  await app.register(mapRoutes, { ctx });
  await app.register(wallRoutes, { ctx });
  await app.register(statsRoutes, { ctx });
  await app.register(linkageRoutes, { ctx, linkage });
  await app.register(patrolRoutes, { ctx, linkage, positions });
  let stopLinkage: (() => Promise<void>) | null = null;
  app.addHook('onReady', async () => { stopLinkage = await startLinkageBackground(platform, linkage); });
  app.addHook('onClose', async () => { await stopLinkage?.(); await positions.stop(); });
  await app.register(webApp);
  return app;
}

/** console.login as the limiter's windows. */
function loginLimitsOf(c: Config['console']['login']): LoginLimits {
  return {
    account_ip: { max: c.accountIpFailures, windowSeconds: c.accountIpWindowSeconds },
    ip: { max: c.ipFailures, windowSeconds: c.ipWindowSeconds },
    account: { max: c.accountFailures, windowSeconds: c.accountWindowSeconds },
  };
}

export async function startConsole(platform: Platform): Promise<App> {
  const app = await buildConsole(platform);
  await app.listen({ host: platform.config.console.host, port: platform.config.console.port });
  return app;
}
