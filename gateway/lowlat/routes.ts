import websocket from '@fastify/websocket';
import fp from 'fastify-plugin';
import type { FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import type { App } from '../../core/http/app.ts';
import { HttpError, notFound } from '../../core/http/errors.ts';
import { errors, StringEnum } from '../../core/http/schemas.ts';
import { STREAMS, streamKey } from '../streams/keys.ts';
import { MediaToken, type MediaAuth } from '../streams/media-auth.ts';
import type { SessionInfo } from '../streams/types.ts';
import { CLOSE, type LowLatencyHub, type WebSocketLike } from './hub.ts';

/** What the route needs of the session manager: the session of a key, and keeping a live-only one alive. */
export interface LowLatencySessions {
  get(key: string): SessionInfo | null;
  touch(key: string): void;
}

export interface LowLatencyRouteOptions {
  hub: LowLatencyHub;
  auth: Pick<MediaAuth, 'check'>;
  sessions: LowLatencySessions;
  /** How often an attached viewer touches its session (default 5 s: well inside the idle stop). */
  touchIntervalMs?: number;
}

/** The socket takes no messages (1008 for any); ws itself closes past this size. */
const MAX_CLIENT_FRAME_BYTES = 4096;
const TOUCH_INTERVAL_MS = 5_000;

const Params = Type.Object({ deviceId: Type.String({ format: 'uuid' }) });
const Query = Type.Object({ token: Type.Optional(MediaToken), stream: StringEnum(STREAMS, { default: 'main' }) });

const isUpgrade = (req: FastifyRequest) => req.headers.upgrade?.toLowerCase() === 'websocket';

/**
 * The low-latency live view: `GET /media/live/<device>/ws?token=…&stream=main|sub` upgraded to a
 * WebSocket that carries the session's fMP4 fragments (hub.ts). The signed live token in the query
 * is the only credential, checked before the upgrade: refused → plain HTTP 401/403 with the error
 * body, no session for the stream → 404, and no socket either way. While a viewer is attached its
 * session is touched, so a live-only session does not stop as idle under it.
 */
export const lowLatencyRoutes = fp(async (app: App, opts: LowLatencyRouteOptions) => {
  const { hub, auth, sessions } = opts;
  const touchIntervalMs = opts.touchIntervalMs ?? TOUCH_INTERVAL_MS;
  if (!app.hasDecorator('websocketServer')) await app.register(websocket, { options: { maxPayload: MAX_CLIENT_FRAME_BYTES } });

  // Our open sockets, cut when the app closes (shutdown never waits on a viewer that stopped reading).
  const open = new Set<WebSocketLike>();
  app.addHook('preClose', async () => {
    for (const socket of open) socket.terminate?.();
  });

  // What the token check found, from the upgrade request to its socket.
  const viewers = new WeakMap<FastifyRequest, { key: string; userId: string; expiresAt: number }>();

  await app.register(async (scope: App) => {
    // A refused upgrade is answered on a socket no HTTP parser owns: close it once the answer is out.
    scope.addHook('onSend', async (req, reply, payload) => {
      if (isUpgrade(req) && reply.statusCode !== 101) {
        reply.header('connection', 'close');
        const socket = req.raw.socket;
        setImmediate(() => socket.end());
        setTimeout(() => socket.destroy(), 2000).unref();
      }
      return payload;
    });

    scope.route({
      method: 'GET',
      url: '/media/live/:deviceId/ws',
      config: { access: 'public' },
      schema: { hide: true, params: Params, querystring: Query, response: errors(400, 401, 403, 404, 426) },
      preHandler: async (req) => {
        const { deviceId } = req.params;
        const claims = await auth.check(req.query.token, deviceId, 'live');
        const key = streamKey(deviceId, req.query.stream);
        if (!sessions.get(key)) throw notFound('live session', { code: 'live.no_session' });
        viewers.set(req, { key, userId: claims.sub, expiresAt: claims.exp * 1000 });
      },
      handler: async () => {
        throw new HttpError(426, 'upgrade_required', 'this is a WebSocket: connect with a WebSocket upgrade', { code: 'live.upgrade_required' });
      },
      wsHandler: (raw, req) => {
        const socket = raw as unknown as WebSocketLike;
        const viewer = viewers.get(req);
        if (!viewer) {
          socket.close(CLOSE.noSession, 'no live session');
          return;
        }
        const { key, userId, expiresAt } = viewer;
        // The session may have stopped while the upgrade was answered.
        if (!sessions.get(key)) {
          socket.close(CLOSE.noSession, 'no live session');
          return;
        }
        open.add(socket);
        sessions.touch(key);
        const touch = setInterval(() => sessions.touch(key), touchIntervalMs);
        touch.unref();
        socket.on('close', () => {
          clearInterval(touch);
          open.delete(socket);
        });
        hub.attach(key, socket, { userId, expiresAt });
      },
    });
  });
}, { name: 'lowlat-routes', dependencies: ['identity-guard'] });
