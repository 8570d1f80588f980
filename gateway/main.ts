import { createApp, type App } from '../core/http/app.ts';
import { healthRoute } from '../core/http/health.ts';
import { identityGuard } from '../core/identity/guard.ts';
import type { Platform } from '../core/platform.ts';
import { createDeviceRepository } from './devices/repository.ts';
import { createDeviceService } from './devices/service.ts';
import { createHealthScheduler, type HealthScheduler } from './health/scheduler.ts';
import { createMembership, type Membership } from './nodes/membership.ts';
import { createNodeRepository } from './nodes/repository.ts';
import { checkOnvif } from './onvif/onvif-client.ts';
import { onvifInternalRoutes } from './onvif/routes.ts';
import { createOnvifService } from './onvif/service.ts';

export interface Gateway {
  app: App;
  membership: Membership;
  health: HealthScheduler;
  close(): Promise<void>;
}

export function gatewayUrls(config: Platform['config']) {
  const local = `http://127.0.0.1:${config.gateway.port}`;
  return { publicUrl: config.gateway.publicUrl ?? local, internalUrl: config.gateway.internalUrl ?? local };
}

/**
 * The gateway process: the media and device plane. It leases its share of the
 * registry, probes device health, runs ONVIF operations for the console, and
 * (next) stream sessions and media serving.
 */
export async function startGateway(platform: Platform, options: { listen?: boolean } = {}): Promise<Gateway> {
  const { config, pool, redis, keys, identity, events } = platform;
  const log = platform.log.child({ process: 'gateway', node: config.gateway.nodeId });
  const app = await createApp({ logger: log, title: 'Skynet gateway', openapi: false });
  let ready = false;
  app.addHook('onReady', async () => { ready = true; });

  const devices = createDeviceService({ repo: createDeviceRepository(pool), boxKey: keys.box });
  const onvif = createOnvifService({ connection: devices.connection, timeoutMs: config.health.timeoutMs * 2 });
  await app.register(identityGuard, { identity });
  await app.register(healthRoute, { process: 'gateway', timezone: config.site.timezone, siteName: config.site.name, pool, redis, ready: () => ready });
  await app.register(onvifInternalRoutes, { onvif });

  if (options.listen !== false) await app.listen({ host: config.gateway.host, port: config.gateway.port });
  else await app.ready();
  // Port 0 (tests) means "any free port": advertise the one we got.
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : config.gateway.port;
  const urls = gatewayUrls({ ...config, gateway: { ...config.gateway, port } });
  let health: HealthScheduler | null = null;
  const membership = createMembership({
    log, nodes: createNodeRepository(pool), databaseUrl: config.database.url, leaseSeconds: config.gateway.leaseSeconds,
    node: { id: config.gateway.nodeId, ...urls, maxSessions: config.gateway.maxSessions },
    onChange: ({ added, edited }) => health?.checkSoon([...added, ...edited]),
  });
  health = createHealthScheduler({
    log: log.child({ component: 'health' }),
    held: membership.held,
    connections: devices.connections,
    recordStatus: devices.recordStatus,
    checkOnvif,
    events,
    reportCycle: (report) => redis.set(`${config.redis.prefix}health:last-cycle:${config.gateway.nodeId}`, JSON.stringify(report)).then(() => {}),
    intervalSeconds: config.health.intervalSeconds,
    concurrency: config.health.concurrency,
    timeoutMs: config.health.timeoutMs,
  });

  await membership.start();
  health.start();

  return {
    app, membership, health,
    async close() {
      await health!.stop();
      await membership.stop();
      await app.close();
    },
  };
}
