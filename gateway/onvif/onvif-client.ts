/**
 * The gateway's adapter over the `onvif` npm package (Device, Media and PTZ services).
 * The package builds the requests, signs them (WS-Security, HTTP Digest) and sends them;
 * this file bounds everything it does: one overall timeout per call, answers capped at
 * 1 MiB by the HTTP agent, every callback settled once, every failure turned into an
 * `OnvifError` with a code and a message that names the device but never its credentials.
 *
 * Devices are reached through short-lived sessions cached by host:port:user (the clock
 * offset and service paths learnt on connect are reused); calls to one device are serialised,
 * as cameras handle concurrent SOAP requests poorly.
 */
import http from 'node:http';
import net from 'node:net';
import { createHash } from 'node:crypto';
import onvif from 'onvif';
import type { Cam } from 'onvif';
import { scrubUrl } from '../../core/log.ts';
import * as answers from './onvif-answers.ts';
import type { OnvifCheck, OnvifConn, OnvifErrorCode, OnvifProfile, ProbeResult, PtzPresetInfo, PtzStatus, PtzVelocity } from './types.ts';

export const DEFAULT_TIMEOUT_MS = 5000;
export const MAX_ANSWER_BYTES = 1024 * 1024;
const SESSION_TTL_MS = 2 * 60_000;
const MAX_SESSIONS = 512;
const MAX_PROFILES = 16;

export class OnvifError extends Error {
  constructor(readonly code: OnvifErrorCode, message: string) {
    super(message);
    this.name = 'OnvifError';
  }
}

class AnswerTooLarge extends Error {
  readonly code = 'ERR_ONVIF_ANSWER_TOO_LARGE';
}

/** Keeps no sockets and destroys any connection that receives more than `maxBytes`. */
class CappedAgent extends http.Agent {
  constructor(private readonly maxBytes: number) {
    super({ keepAlive: false });
  }

  override createConnection(options: http.ClientRequestArgs): net.Socket {
    const socket = net.createConnection(options as net.NetConnectOpts);
    let received = 0;
    socket.on('data', (chunk: Buffer) => {
      received += chunk.length;
      if (received > this.maxBytes) socket.destroy(new AnswerTooLarge(`answer larger than ${this.maxBytes} bytes`));
    });
    return socket;
  }
}

const agent = new CappedAgent(MAX_ANSWER_BYTES);

/** A failed library call with the raw answer, for classification. */
class CallFailure extends Error {
  constructor(readonly failure: unknown, readonly xml?: string) {
    super(failure instanceof Error ? failure.message : String(failure));
  }
}

/** Map what the library, Node or the device said to a code and a short reason. */
export function classifyFailure(err: unknown, xml = ''): { code: OnvifErrorCode; reason: string } {
  if (err instanceof OnvifError) return { code: err.code, reason: err.message };
  const failure = err instanceof CallFailure ? err.failure : err;
  const raw = err instanceof CallFailure && err.xml ? err.xml : xml;
  const code = typeof failure === 'object' && failure !== null && 'code' in failure ? String(failure.code) : '';
  const message = failure instanceof Error ? failure.message : String(failure);
  if (code === 'ERR_ONVIF_ANSWER_TOO_LARGE') return { code: 'protocol', reason: message };
  if (['ECONNREFUSED', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'ECONNRESET', 'EPIPE', 'ECONNABORTED', 'EADDRNOTAVAIL'].includes(code) ||
    /socket hang up/i.test(message)) {
    return { code: 'unreachable', reason: code === 'ECONNREFUSED' ? 'connection refused' : code === 'ENOTFOUND' ? 'host not found' : `connection failed (${code || message})` };
  }
  if (code === 'ETIMEDOUT' || /network timeout|timed? ?out/i.test(message)) return { code: 'timeout', reason: 'no answer in time' };
  if (code.startsWith('HPE_')) return { code: 'protocol', reason: 'answer is not HTTP' };
  if (/notauthori[sz]ed|not authori[sz]ed|unauthori[sz]ed|authentication failed|authentication headers not found|\b401\b/i.test(`${message} ${raw.slice(0, 4096)}`)) {
    return { code: 'auth', reason: 'credentials refused' };
  }
  if (/ActionNotSupported|NoSuchService|not implemented|not supported/i.test(`${message} ${raw.slice(0, 4096)}`)) {
    return { code: 'unsupported', reason: `not supported by the device (${message.slice(0, 120)})` };
  }
  if (failure instanceof answers.ProtocolAnswerError) return { code: 'protocol', reason: message };
  const fault = /^ONVIF SOAP Fault: ?(.*)$/s.exec(message);
  if (fault) return { code: 'protocol', reason: `the device answered with a fault: ${fault[1]?.slice(0, 160) || 'no reason given'}` };
  // The library reading an answer that lacks what it expects (`Cannot read properties of undefined`).
  if (failure instanceof TypeError) return { code: 'protocol', reason: 'the answer lacks the elements ONVIF requires' };
  return { code: 'protocol', reason: `unexpected answer (${message.slice(0, 160)})` };
}

type Callback = (err: unknown, data?: unknown, xml?: string) => void;

/** Call a callback-style Cam method; settles once, whatever the library does with its callback. */
function call(cam: Cam, method: string, ...args: unknown[]): Promise<{ data: unknown; xml?: string }> {
  return new Promise((resolve, reject) => {
    let settled = false;
    const done: Callback = (err, data, xml) => {
      if (settled) return;
      settled = true;
      if (err) reject(new CallFailure(err, typeof xml === 'string' ? xml : undefined));
      else resolve({ data, xml: typeof xml === 'string' ? xml : undefined });
    };
    try {
      (cam as unknown as Record<string, (...a: unknown[]) => void>)[method]!.call(cam, ...args, done);
    } catch (err) {
      done(err);
    }
  });
}

interface Session {
  key: string;
  cam: Cam;
  expiresAt: number;
  deviceTime: Date | null;
  media: boolean;
  ptz: boolean;
  ptzProfile?: string;
  queue: Promise<unknown>;
}

const sessions = new Map<string, Promise<Session>>();

function sessionKey(conn: OnvifConn): string {
  // The password is part of the key (as a hash) so changed credentials get a new session.
  const pw = createHash('sha256').update(conn.password).digest('hex').slice(0, 16);
  return `${conn.host}:${conn.port}:${conn.username}:${pw}`;
}

type SessionMode = 'cached' | 'fresh' | 'transient';

async function connect(conn: OnvifConn, key: string, withCapabilities: boolean): Promise<Session> {
  const cam = new onvif.Cam({
    hostname: conn.host,
    port: conn.port,
    username: conn.username,
    password: conn.password,
    timeout: conn.timeoutMs ?? DEFAULT_TIMEOUT_MS,
    autoconnect: false,
    agent,
  });
  // The device's clock first: WS-Security timestamps are computed from it.
  const date = await call(cam, 'getSystemDateAndTime');
  const { media, ptz } = withCapabilities ? answers.capabilities((await call(cam, 'getCapabilities')).xml) : { media: false, ptz: false };
  return { key, cam, expiresAt: Date.now() + SESSION_TTL_MS, deviceTime: date.data instanceof Date ? date.data : null, media, ptz, queue: Promise.resolve() };
}

/** `cached`: reuse or create; `fresh`: create and cache; `transient`: a bare connection (clock only), not cached. */
function session(conn: OnvifConn, mode: SessionMode): Promise<Session> {
  const key = sessionKey(conn);
  if (mode === 'transient') return connect(conn, key, false);
  const cached = sessions.get(key);
  if (cached && mode === 'cached') return cached;
  const created = connect(conn, key, true);
  sessions.set(key, created);
  created.then((s) => setTimeout(() => sessions.get(key) === created && sessions.delete(key), Math.max(0, s.expiresAt - Date.now())).unref(), () => sessions.delete(key));
  if (sessions.size > MAX_SESSIONS) sessions.delete(sessions.keys().next().value!);
  return created;
}

function where(conn: OnvifConn): string {
  return scrubUrl(`${conn.host}:${conn.port}`);
}

/**
 * Run `work` against the device's session within the call's timeout; map any failure to an
 * OnvifError, and drop the session when the failure means it may be stale.
 */
async function withDevice<T>(conn: OnvifConn, what: string, work: (s: Session) => Promise<T>, mode: SessionMode = 'cached'): Promise<T> {
  const timeoutMs = conn.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new OnvifError('timeout', `ONVIF ${where(conn)}: ${what} timed out after ${timeoutMs} ms`)), timeoutMs);
  });
  const run = async () => {
    const s = await session(conn, mode);
    s.cam.timeout = timeoutMs;
    const result = s.queue.then(() => work(s));
    s.queue = result.catch(() => undefined);
    return result;
  };
  try {
    return await Promise.race([run(), deadline]);
  } catch (err) {
    const { code, reason } = classifyFailure(err);
    if (code !== 'unsupported' && mode !== 'transient') sessions.delete(sessionKey(conn));
    if (err instanceof OnvifError) throw err;
    throw new OnvifError(code, `ONVIF ${where(conn)}: ${what} failed: ${scrubUrl(reason)}`);
  } finally {
    clearTimeout(timer);
  }
}

/** Connect, read identity, profiles, stream and snapshot URIs. */
export async function probeDevice(conn: OnvifConn): Promise<ProbeResult> {
  return withDevice(conn, 'probe', async (s) => {
    const info = answers.deviceInformation((await call(s.cam, 'getDeviceInformation')).xml);
    if (!s.media) throw new OnvifError('unsupported', `ONVIF ${where(conn)}: the device has no media service`);
    const found = answers.profiles((await call(s.cam, 'getProfiles')).xml).slice(0, MAX_PROFILES);
    const profiles: (OnvifProfile & { ptz: boolean })[] = [];
    for (const p of found) {
      const got = await call(s.cam, 'getStreamUri', { protocol: 'RTSP', stream: 'RTP-Unicast', profileToken: p.token });
      const rtspUri = answers.cleanUri(answers.mediaUri(got.xml, 'GetStreamUriResponse'), ['rtsp', 'rtsps']);
      if (rtspUri) profiles.push({ ...p, rtspUri });
    }
    const ranked = [...profiles].sort((a, b) => b.width * b.height - a.width * a.height);
    const main = ranked[0];
    if (!main) throw new OnvifError('protocol', `ONVIF ${where(conn)}: no video profile with an RTSP stream`);
    let snapshotUri: string | null = null;
    try {
      const got = await call(s.cam, 'getSnapshotUri', { profileToken: main.token });
      snapshotUri = answers.cleanUri(answers.mediaUri(got.xml, 'GetSnapshotUriResponse'), ['http', 'https']);
    } catch (err) {
      const { code } = classifyFailure(err);
      if (code === 'unreachable' || code === 'timeout') throw err;
    }
    if (snapshotUri) main.snapshotUri = snapshotUri;
    s.ptzProfile = profiles.find((p) => p.ptz)?.token;
    return {
      ...info,
      profiles: profiles.map(({ ptz: _ptz, ...p }) => p),
      rtspMain: main.rtspUri,
      rtspSub: (ranked[1] ?? main).rtspUri,
      snapshotUri,
      ptz: s.ptz && s.ptzProfile !== undefined,
      onvifTime: s.deviceTime?.toISOString(),
    };
  }, 'fresh');
}

/** The profile PTZ commands address: the first with a PTZ configuration. */
async function ptzProfile(s: Session, conn: OnvifConn): Promise<string> {
  if (!s.ptz) throw new OnvifError('unsupported', `ONVIF ${where(conn)}: the device has no PTZ service`);
  if (!s.ptzProfile) {
    const found = answers.profiles((await call(s.cam, 'getProfiles')).xml);
    s.ptzProfile = found.find((p) => p.ptz)?.token;
  }
  if (!s.ptzProfile) throw new OnvifError('unsupported', `ONVIF ${where(conn)}: no profile has a PTZ configuration`);
  return s.ptzProfile;
}

/** The library pastes values into its XML as they are. */
const xmlText = (v: string) => v.replace(/[<>&"']/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;', "'": '&apos;' })[c] ?? c);
const unit = (v: number, lo: number) => (Number.isFinite(v) ? Math.min(1, Math.max(lo, v)) : 0);

export function ptzContinuousMove(conn: OnvifConn, v: PtzVelocity): Promise<void> {
  return withDevice(conn, 'PTZ move', async (s) => {
    const timeout = v.timeoutMs !== undefined && Number.isFinite(v.timeoutMs) ? Math.min(3_600_000, Math.max(100, Math.round(v.timeoutMs))) : undefined;
    await call(s.cam, 'continuousMove', {
      profileToken: xmlText(await ptzProfile(s, conn)),
      x: unit(v.pan, -1), y: unit(v.tilt, -1), zoom: unit(v.zoom, -1),
      ...(timeout ? { timeout } : {}),
    });
  });
}

export function ptzStop(conn: OnvifConn): Promise<void> {
  return withDevice(conn, 'PTZ stop', async (s) => {
    await call(s.cam, 'stop', { profileToken: xmlText(await ptzProfile(s, conn)), panTilt: true, zoom: true });
  });
}

export function ptzStatus(conn: OnvifConn): Promise<PtzStatus> {
  return withDevice(conn, 'PTZ status', async (s) =>
    answers.ptzStatus((await call(s.cam, 'getStatus', { profileToken: xmlText(await ptzProfile(s, conn)) })).xml));
}

export function ptzPresets(conn: OnvifConn): Promise<PtzPresetInfo[]> {
  return withDevice(conn, 'PTZ presets', async (s) =>
    answers.presets((await call(s.cam, 'getPresets', { profileToken: xmlText(await ptzProfile(s, conn)) })).xml));
}

export function ptzGotoPreset(conn: OnvifConn, token: string): Promise<void> {
  return withDevice(conn, 'PTZ go to preset', async (s) => {
    await call(s.cam, 'gotoPreset', { profileToken: xmlText(await ptzProfile(s, conn)), preset: xmlText(token) });
  });
}

export function ptzSetPreset(conn: OnvifConn, name: string): Promise<{ token: string }> {
  return withDevice(conn, 'PTZ set preset', async (s) => {
    const got = await call(s.cam, 'setPreset', { profileToken: xmlText(await ptzProfile(s, conn)), presetName: xmlText(name.slice(0, 64)) });
    return { token: answers.presetToken(got.xml) };
  });
}

/** Health probe: the clock (unauthenticated) and device information (authenticated), on a fresh connection. */
export async function checkOnvif(conn: OnvifConn): Promise<OnvifCheck> {
  const started = performance.now();
  try {
    await withDevice(conn, 'health check', async (s) => {
      answers.deviceInformation((await call(s.cam, 'getDeviceInformation')).xml);
    }, 'transient');
    return { ok: true, latencyMs: Math.round(performance.now() - started) };
  } catch (err) {
    const e = err instanceof OnvifError ? err : new OnvifError('protocol', `ONVIF ${where(conn)}: health check failed`);
    return { ok: false, code: e.code, message: e.message };
  }
}

/** Forget cached sessions (tests, or after a device's credentials change). */
export function closeOnvifSessions(): void {
  sessions.clear();
}
