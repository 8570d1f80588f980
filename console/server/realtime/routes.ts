import websocket from '@fastify/websocket';
import fp from 'fastify-plugin';
import type { Duplex } from 'node:stream';
import type { FastifyRequest } from 'fastify';
import type { App } from '../../../core/http/app.ts';
import { errors } from '../../../core/http/schemas.ts';
import { SESSION_COOKIE } from '../../../core/identity/guard.ts';
import type { ConsoleContext } from '../context.ts';
import { createRealtimeHub, type HubOptions, type RealtimeHub, type RealtimeSocket } from './hub.ts';
import { CHANNEL_ROLES, MAX_FRAME_BYTES } from './protocol.ts';
import { checkUpgradeOrigin, refuseNonUpgrade } from './service.ts';

declare module 'fastify' {
  interface FastifyInstance { realtimeHub: RealtimeHub }
}

/** Knobs for tests; the console passes none. */
export interface RealtimeTuning { pingIntervalMs?: number; maxBufferedBytes?: number }

/**
 * The realtime channel: one WebSocket per browser tab at /api/events (protocol in
 * docs/control-room/realtime.md). The guard authenticates the upgrade request (session
 * cookie or `Authorization: Bearer <api token>`) and refuses it with HTTP 401/403 before
 * the upgrade; the Origin of a cookie-borne upgrade must be the console's own.
 */
export const realtimeRoutes = fp(async (app: App, opts: { ctx: ConsoleContext; tuning?: RealtimeTuning; isMember?: HubOptions['isMember'] }) => {
  const { platform } = opts.ctx;
  const { config } = platform;
  // Frames up to 16 × the protocol limit are read and refused with 1008; ws itself closes (1009) past that.
  if (!app.hasDecorator('websocketServer')) await app.register(websocket, { options: { maxPayload: MAX_FRAME_BYTES * 16 } });
  const access = { roles: CHANNEL_ROLES } as const;
  const hub = createRealtimeHub({
    eventLog: platform.eventLog, events: platform.events, identity: platform.identity,
    log: platform.log.child({ feature: 'realtime' }), access,
    maxMessagesPerSecond: config.realtime.maxMessagesPerSecond, ...opts.tuning, ...(opts.isMember ? { isMember: opts.isMember } : {}),
  });
  app.decorate('realtimeHub', hub);
  app.addHook('onReady', async () => { await hub.start(); });
  // An upgrade refused before the switch (401, 403, 426) is answered on a socket no HTTP
  // parser owns: nothing would close it, and app.close() would wait on it for ever.
  app.addHook('onSend', async (req, reply, payload) => {
    if (isUpgrade(req) && reply.statusCode !== 101) {
      reply.header('connection', 'close');
      const socket = req.raw.socket;
      setImmediate(() => socket.end());
      setTimeout(() => socket.destroy(), 2000).unref();
    }
    return payload;
  });
  // Shutdown is bounded: upgrade sockets still open when the hub has closed its own are cut.
  const upgrades = new Set<Duplex>();
  const onUpgrade = (_req: unknown, socket: Duplex) => {
    upgrades.add(socket);
    socket.once('close', () => upgrades.delete(socket));
  };
  app.server.on('upgrade', onUpgrade);
  app.addHook('preClose', async () => {
    await hub.stop();
    app.server.off('upgrade', onUpgrade);
    for (const socket of upgrades) socket.destroy();
  });
  const allowedOrigins = [...(config.console.publicUrl ? [config.console.publicUrl] : []), ...config.console.allowedOrigins];

  app.route({
    method: 'GET',
    url: '/api/events',
    config: { access },
    schema: {
      tags: ['realtime'], summary: 'Realtime events (WebSocket)',
      description: 'Upgrade to a WebSocket: subscribe to topics (alarms, devices, incidents, incident:<id>), get their events as they happen and, with `after`, what was missed. A plain GET answers 426.',
      response: errors(401, 403, 426),
    },
    preHandler: async (req) => checkUpgradeOrigin(req, allowedOrigins),
    handler: async () => refuseNonUpgrade(),
    wsHandler: (socket, req) => hub.attach(socket as unknown as RealtimeSocket, req.principal!, credentialOf(req)),
  });
}, { name: 'realtime-routes', dependencies: ['identity-guard'] });

const isUpgrade = (req: FastifyRequest) => req.headers.upgrade?.toLowerCase() === 'websocket';

function credentialOf(req: FastifyRequest): { bearer?: string; cookie?: string } {
  const header = req.headers.authorization;
  const bearer = header?.startsWith('Bearer ') ? header.slice(7).trim() : undefined;
  if (bearer) return { bearer };
  const cookie = req.cookies?.[SESSION_COOKIE];
  return cookie ? { cookie } : {};
}
