/**
 * The simulated camera's ONVIF web service: SOAP 1.2 over node:http at
 * /onvif/device_service, /onvif/media_service and /onvif/ptz_service (any path works:
 * requests are dispatched on the Body's operation name), and GET /onvif/snapshot.jpg.
 *
 * Authentication as real cameras do it: every operation except GetSystemDateAndTime needs a
 * WS-Security UsernameToken (PasswordDigest) or HTTP Digest. A bad UsernameToken is a
 * `ter:NotAuthorized` fault with HTTP 400 (ONVIF Core 5.9.1); no credentials at all is a
 * 401 Digest challenge. Faults switched on the camera change the answers: `refuse-auth`,
 * `garbage` (random bytes), `drop` (socket destroyed), `stall` (never answers).
 */
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { randomBytes } from 'node:crypto';
import { log } from '../../core/log.ts';
import type { SimCamera } from './types.ts';
import { HttpAuth, SoapParseError, UsernameTokenVerifier, type SoapFault, envelope, faultXml, faults, parseSoap } from './soap.ts';
import { type Operation, deviceOperations, mediaOperations } from './onvif-device.ts';
import { ptzOperations } from './onvif-ptz.ts';

export const MAX_REQUEST_BYTES = 256 * 1024;

export interface OnvifServer {
  port: number;
  close(): Promise<void>;
}

const UNAUTHENTICATED = new Set(['GetSystemDateAndTime']);
const SOAP_TYPE = 'application/soap+xml; charset=utf-8';

type Service = 'device' | 'media' | 'ptz';
const tables: Record<Service, Record<string, Operation>> = { device: deviceOperations, media: mediaOperations, ptz: ptzOperations };

/** Operation names several services share (GetServiceCapabilities) are told apart by path. */
function lookup(operation: string, path: string): { service: Service; op: Operation } | undefined {
  const hinted: Service = /ptz/i.test(path) ? 'ptz' : /media/i.test(path) ? 'media' : 'device';
  for (const service of [hinted, 'device', 'media', 'ptz'] as const) {
    const op = tables[service][operation];
    if (op) return { service, op };
  }
  return undefined;
}

export async function startOnvifServer(camera: SimCamera, opts: { port?: number; host?: string } = {}): Promise<OnvifServer> {
  const logger = log.child({ camera: camera.spec.id, component: 'sim-onvif' });
  const wsse = new UsernameTokenVerifier();
  const digest = new HttpAuth(`IP Camera(${camera.spec.id.replace(/[^\w.-]/g, '_')})`);
  const creds = { username: camera.spec.username, password: camera.spec.password };
  const sockets = new Set<Socket>();
  const host = opts.host ?? camera.spec.host;

  const server = http.createServer({ requestTimeout: 30_000, headersTimeout: 10_000 }, (req, res) => {
    handle(req, res).catch((err: unknown) => {
      logger.warn({ err }, 'onvif request failed');
      if (!res.headersSent) res.writeHead(500, { 'Content-Type': SOAP_TYPE });
      res.end();
    });
  });
  server.on('connection', (socket) => {
    if (camera.faults.has('drop')) return void socket.destroy();
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  server.on('clientError', (_err, socket) => socket.destroy());

  async function handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    if (camera.faults.has('drop')) return void req.socket.destroy();
    if (camera.faults.has('stall')) return; // hold the connection, answer nothing
    if (camera.faults.has('garbage')) return sendGarbage(res);
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    if (req.method === 'GET' && /snapshot/i.test(path)) return snapshot(req, res);
    if (req.method !== 'POST') {
      res.writeHead(405, { Allow: 'POST' }).end();
      return;
    }
    const body = await readBody(req, MAX_REQUEST_BYTES);
    if (body === null) {
      res.writeHead(413, { Connection: 'close' }).end();
      return;
    }
    let request;
    try {
      request = parseSoap(body.toString('utf8'));
    } catch (err) {
      if (!(err instanceof SoapParseError)) throw err;
      return sendFault(res, faults.wellFormed(err.message));
    }
    const { operation, params, header } = request;
    if (!UNAUTHENTICATED.has(operation)) {
      const byToken = wsse.verify(header, creds);
      const byDigest = digest.verify(req.headers.authorization, 'POST', req.url ?? '/', creds, false);
      const refused = camera.faults.has('refuse-auth');
      if (refused || (byToken !== 'ok' && byDigest !== 'ok')) {
        logger.debug({ operation, byToken, byDigest, refused }, 'onvif request not authorized');
        // A client using WS-Security gets the SOAP fault; otherwise it is asked for HTTP Digest.
        if (byToken !== 'missing') return sendFault(res, faults.notAuthorized());
        return sendFault(res, { ...faults.notAuthorized(), status: 401 }, { 'WWW-Authenticate': digest.challenges() });
      }
    }
    const found = lookup(operation, path);
    if (!found) return sendFault(res, faults.actionNotSupported(operation));
    if (found.service === 'ptz' && !camera.spec.ptz) return sendFault(res, faults.ptzNotSupported());
    const result = await found.op({ camera, params, base: advertisedBase(req), now: Date.now() });
    if (typeof result !== 'string') return sendFault(res, result);
    res.writeHead(200, { 'Content-Type': SOAP_TYPE }).end(envelope(result));
  }

  async function snapshot(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const result = digest.verify(req.headers.authorization, 'GET', req.url ?? '/', creds, true);
    if (result !== 'ok' || camera.faults.has('refuse-auth')) {
      res.writeHead(401, { 'WWW-Authenticate': [...digest.challenges(), `Basic realm="${camera.spec.id}"`] }).end();
      return;
    }
    const jpeg = await camera.snapshot();
    res.writeHead(200, { 'Content-Type': 'image/jpeg', 'Content-Length': jpeg.length, 'Cache-Control': 'no-store' }).end(jpeg);
  }

  /** XAddrs use the camera's address, or the one the client used when the camera binds a wildcard. */
  function advertisedBase(req: http.IncomingMessage): string {
    const wildcard = !camera.spec.host || camera.spec.host === '0.0.0.0' || camera.spec.host === '::';
    const hostHeader = /^[\w.:[\]-]+$/.test(req.headers.host ?? '') ? req.headers.host : undefined;
    if (wildcard && hostHeader) return `http://${hostHeader}`;
    const h = wildcard ? '127.0.0.1' : camera.spec.host;
    return `http://${h.includes(':') ? `[${h}]` : h}:${camera.onvifPort}`;
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? camera.spec.onvifPort, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  server.on('error', (err) => logger.error({ err }, 'onvif server error'));
  const port = (server.address() as AddressInfo).port;
  camera.onvifPort = port;
  logger.debug({ port }, 'onvif server listening');

  return {
    port,
    close: () => new Promise<void>((resolve) => {
      server.close(() => resolve());
      for (const socket of sockets) socket.destroy();
      server.closeAllConnections();
    }),
  };
}

function sendFault(res: http.ServerResponse, f: SoapFault, headers: http.OutgoingHttpHeaders = {}): void {
  res.writeHead(f.status, { 'Content-Type': SOAP_TYPE, ...headers }).end(faultXml(f));
}

/** Bytes that are not XML: a NUL first, then noise. */
function sendGarbage(res: http.ServerResponse): void {
  const noise = randomBytes(64 + Math.floor(Math.random() * 448));
  noise[0] = 0;
  res.writeHead(200, { 'Content-Type': SOAP_TYPE }).end(noise);
}

/** The request body, or null as soon as it is larger than `limit`. */
function readBody(req: http.IncomingMessage, limit: number): Promise<Buffer | null> {
  const declared = Number(req.headers['content-length'] ?? 0);
  if (declared > limit) return Promise.resolve(null);
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        req.removeAllListeners('data');
        req.resume();
        resolve(null);
      } else chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}
