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
import type {
  OnvifCheck, OnvifConn, OnvifErrorCode, OnvifFailureKind, OnvifProfile, ProbeResult, ProbeWarning, PtzPresetInfo, PtzStatus, PtzVelocity,
} from './types.ts';

export const DEFAULT_TIMEOUT_MS = 5000;
export const MAX_ANSWER_BYTES = 1024 * 1024;
const SESSION_TTL_MS = 2 * 60_000;
const MAX_SESSIONS = 512;
const MAX_PROFILES = 16;

const DEFAULT_KIND: Record<OnvifErrorCode, OnvifFailureKind> = {
  unreachable: 'unreachable', timeout: 'timeout', auth: 'auth', protocol: 'not_onvif', unsupported: 'unsupported',
};

export class OnvifError extends Error {
  /** What exactly failed (types.ts OnvifFailureKind). */
  readonly kind: OnvifFailureKind;
  /** The device's own words for a SOAP fault (its Reason text, at most 160 characters). */
  readonly deviceReason?: string;

  constructor(readonly code: OnvifErrorCode, message: string, detail: { kind?: OnvifFailureKind; deviceReason?: string } = {}) {
    super(message);
    this.name = 'OnvifError';
    this.kind = detail.kind ?? DEFAULT_KIND[code];
    if (detail.deviceReason !== undefined) this.deviceReason = detail.deviceReason;
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

interface Classified {
  code: OnvifErrorCode;
  kind: OnvifFailureKind;
  reason: string;
  deviceReason?: string;
}

/** SOAP fault subcodes (ONVIF Core 5.11.2) that say exactly what the device refused. */
const FAULT_KINDS: Record<string, OnvifFailureKind> = {
  NoToken: 'no_token', NoProfile: 'no_token', PresetExist: 'preset_exists', TooManyPresets: 'too_many_presets',
  InvalidPresetName: 'invalid_preset_name', PTZNotSupported: 'no_ptz', NoPTZProfile: 'no_ptz',
};

/** Map what the library, Node or the device said to a code, a kind and a short reason. */
export function classifyFailure(err: unknown, xml = ''): Classified {
  if (err instanceof OnvifError) return { code: err.code, kind: err.kind, reason: err.message, ...(err.deviceReason !== undefined ? { deviceReason: err.deviceReason } : {}) };
  const failure = err instanceof CallFailure ? err.failure : err;
  const raw = err instanceof CallFailure && err.xml ? err.xml : xml;
  const code = typeof failure === 'object' && failure !== null && 'code' in failure ? String(failure.code) : '';
  const message = failure instanceof Error ? failure.message : String(failure);
  if (code === 'ERR_ONVIF_ANSWER_TOO_LARGE') return { code: 'protocol', kind: 'too_large', reason: message };
  if (['ECONNREFUSED', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'ECONNRESET', 'EPIPE', 'ECONNABORTED', 'EADDRNOTAVAIL'].includes(code) ||
    /socket hang up/i.test(message)) {
    if (code === 'ECONNREFUSED') return { code: 'unreachable', kind: 'refused', reason: 'connection refused' };
    if (code === 'ENOTFOUND') return { code: 'unreachable', kind: 'host_not_found', reason: 'host not found' };
    return { code: 'unreachable', kind: 'unreachable', reason: `connection failed (${code || message})` };
  }
  if (code === 'ETIMEDOUT' || /network timeout|timed? ?out/i.test(message)) return { code: 'timeout', kind: 'timeout', reason: 'no answer in time' };
  if (code.startsWith('HPE_')) return { code: 'protocol', kind: 'not_onvif', reason: 'answer is not HTTP' };
  const subcodes = answers.faultSubcodes(raw);
  if (subcodes.includes('NotAuthorized') ||
    /notauthori[sz]ed|not authori[sz]ed|unauthori[sz]ed|authentication failed|authentication headers not found|\b401\b/i.test(`${message} ${raw.slice(0, 4096)}`)) {
    return { code: 'auth', kind: 'auth', reason: 'credentials refused' };
  }
  const specific = subcodes.map((s) => FAULT_KINDS[s]).find((k) => k !== undefined);
  if (specific === 'no_ptz') return { code: 'unsupported', kind: 'no_ptz', reason: 'the device has no PTZ' };
  if (/ActionNotSupported|NoSuchService|not implemented|not supported/i.test(`${message} ${raw.slice(0, 4096)}`)) {
    return { code: 'unsupported', kind: 'unsupported', reason: `not supported by the device (${message.slice(0, 120)})` };
  }
  if (failure instanceof answers.ProtocolAnswerError) return { code: 'protocol', kind: 'not_onvif', reason: message };
  const fault = /^ONVIF SOAP Fault: ?(.*)$/s.exec(message);
  if (fault) {
    const deviceReason = fault[1]?.trim().slice(0, 160) ?? '';
    return { code: 'protocol', kind: specific ?? 'fault', reason: `the device answered with a fault: ${deviceReason || 'no reason given'}`, deviceReason };
  }
  // The library reading an answer that lacks what it expects (`Cannot read properties of undefined`).
  if (failure instanceof TypeError) return { code: 'protocol', kind: 'not_onvif', reason: 'the answer lacks the elements ONVIF requires' };
  return { code: 'protocol', kind: 'not_onvif', reason: `unexpected answer (${message.slice(0, 160)})` };
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
    const { code, kind, reason, deviceReason } = classifyFailure(err);
    // A device that refused one argument (a preset token) is still reachable: keep its session.
    const sessionOk = code === 'unsupported' || ['no_token', 'preset_exists', 'too_many_presets', 'invalid_preset_name'].includes(kind);
    if (!sessionOk && mode !== 'transient') sessions.delete(sessionKey(conn));
    if (err instanceof OnvifError) throw err;
    throw new OnvifError(code, `ONVIF ${where(conn)}: ${what} failed: ${scrubUrl(reason)}`, { kind, ...(deviceReason !== undefined ? { deviceReason: scrubUrl(deviceReason) } : {}) });
  } finally {
    clearTimeout(timer);
  }
}

const URI_WARNINGS = {
  stream: { refused: { code: 'onvif.stream_uri_refused' }, missing: { code: 'onvif.stream_uri_missing' } },
  snapshot: { refused: { code: 'onvif.snapshot_uri_refused' }, missing: { code: 'onvif.snapshot_uri_missing' } },
} as const;

/** A URI the URL policy refused, as a warning that names the profile and the scheme but not the URI (it may hold credentials). */
function uriWarning(which: 'stream' | 'snapshot', profile: { token: string; name: string }, raw: string | null): ProbeWarning {
  const scheme = raw === null ? '' : /^([A-Za-z][A-Za-z0-9+.-]{0,19}):/.exec(raw)?.[1]?.toLowerCase() ?? '';
  const what = which === 'stream' ? 'stream URI' : 'snapshot URI';
  return {
    code: URI_WARNINGS[which][raw === null ? 'missing' : 'refused'].code,
    params: { profile: profile.name, token: profile.token, scheme: scheme || '?' },
    message: raw === null
      ? `profile ${profile.name}: the device reported no ${what}`
      : `profile ${profile.name}: the ${what} the device reported (${scheme || 'no scheme'}:) is not an allowed media URL and was dropped`,
  };
}

/** The Uri of a GetStreamUri/GetSnapshotUri answer, or null when the answer has none. */
function reportedUri(xml: string | undefined, operation: 'GetStreamUriResponse' | 'GetSnapshotUriResponse'): string | null {
  try {
    return answers.mediaUri(xml, operation);
  } catch (err) {
    if (err instanceof answers.ProtocolAnswerError) return null;
    throw err;
  }
}

/**
 * Connect, read identity, profiles, stream and snapshot URIs. A URI the device reports
 * that the URL policy refuses (`file:`, `concat:`, no host…) is dropped from its profile
 * and named in `warnings`; the rest of the probe still succeeds.
 */
export async function probeDevice(conn: OnvifConn): Promise<ProbeResult> {
  return withDevice(conn, 'probe', async (s) => {
    const info = answers.deviceInformation((await call(s.cam, 'getDeviceInformation')).xml);
    if (!s.media) throw new OnvifError('unsupported', `ONVIF ${where(conn)}: the device has no media service`, { kind: 'no_media' });
    const found = answers.profiles((await call(s.cam, 'getProfiles')).xml).slice(0, MAX_PROFILES);
    if (found.length === 0) throw new OnvifError('protocol', `ONVIF ${where(conn)}: the device has no video profile`, { kind: 'no_rtsp_profile' });
    const warnings: ProbeWarning[] = [];
    const profiles: (OnvifProfile & { ptz: boolean })[] = [];
    for (const p of found) {
      const raw = reportedUri((await call(s.cam, 'getStreamUri', { protocol: 'RTSP', stream: 'RTP-Unicast', profileToken: p.token })).xml, 'GetStreamUriResponse');
      const rtspUri = raw === null ? null : answers.cleanUri(raw, ['rtsp', 'rtsps']);
      if (!rtspUri) warnings.push(uriWarning('stream', p, raw));
      profiles.push(rtspUri ? { ...p, rtspUri } : { ...p });
    }
    const ranked = profiles.filter((p) => p.rtspUri).sort((a, b) => b.width * b.height - a.width * a.height);
    const main = ranked[0];
    let snapshotUri: string | null = null;
    const snapshotProfile = main ?? profiles[0]!;
    try {
      const raw = reportedUri((await call(s.cam, 'getSnapshotUri', { profileToken: snapshotProfile.token })).xml, 'GetSnapshotUriResponse');
      snapshotUri = raw === null ? null : answers.cleanUri(raw, ['http', 'https']);
      // No snapshot URI is common (and fine); a refused one is worth saying.
      if (raw !== null && !snapshotUri) warnings.push(uriWarning('snapshot', snapshotProfile, raw));
    } catch (err) {
      const { code } = classifyFailure(err);
      if (code === 'unreachable' || code === 'timeout') throw err;
    }
    if (snapshotUri) snapshotProfile.snapshotUri = snapshotUri;
    s.ptzProfile = profiles.find((p) => p.ptz)?.token;
    return {
      ...info,
      profiles: profiles.map(({ ptz: _ptz, ...p }) => p),
      rtspMain: main?.rtspUri ?? null,
      rtspSub: (ranked[1] ?? main)?.rtspUri ?? null,
      snapshotUri,
      ptz: s.ptz && s.ptzProfile !== undefined,
      onvifTime: s.deviceTime?.toISOString(),
      warnings,
    };
  }, 'fresh');
}

/** The profile PTZ commands address: the first with a PTZ configuration. */
async function ptzProfile(s: Session, conn: OnvifConn): Promise<string> {
  if (!s.ptz) throw new OnvifError('unsupported', `ONVIF ${where(conn)}: the device has no PTZ service`, { kind: 'no_ptz' });
  if (!s.ptzProfile) {
    const found = answers.profiles((await call(s.cam, 'getProfiles')).xml);
    s.ptzProfile = found.find((p) => p.ptz)?.token;
  }
  if (!s.ptzProfile) throw new OnvifError('unsupported', `ONVIF ${where(conn)}: no profile has a PTZ configuration`, { kind: 'no_ptz' });
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
