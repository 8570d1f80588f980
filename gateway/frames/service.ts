import { randomUUID } from 'node:crypto';
import { mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { conflict, notFound, unprocessable } from '../../core/http/errors.ts';
import type { Logger } from '../../core/log.ts';
import type { DeviceConnection } from '../devices/types.ts';
import { OnvifError, probeDevice } from '../onvif/onvif-client.ts';
import type { OnvifConn, OnvifFailureKind, ProbeResult } from '../onvif/types.ts';
import type { Failure } from '../streams/decide.ts';
import { DEVICE_ID, type MediaLayout } from '../streams/layout.ts';
import { createRtspRelay, type MediaRelay } from '../streams/rtsp-relay.ts';
import type { SessionInfo } from '../streams/types.ts';
import { UrlRefused } from '../streams/url-policy.ts';
import { fetchSnapshot, frameFromRtsp, frameFromSegment, GrabError } from './grab.ts';
import { jpegInfo } from './jpeg.ts';
import { createRecordedFrames, type RecordedFrame } from './recorded.ts';
import { budgetFor, FRESH_SEGMENT_MS, frameFailure, frameSources, liveInitSegment, newestLiveSegment, type Attempt, type FrameSource } from './plan.ts';

/** One picture of a camera, as the gateway node that holds it took it. */
export interface Frame {
  jpeg: Buffer;
  source: FrameSource;
  /** When the picture was taken: the live segment's first frame, or when the camera answered. */
  takenAt: Date;
  width: number;
  height: number;
}

/** What the frame service needs of the node's session manager. */
export interface FrameSessions {
  get(deviceId: string): SessionInfo | null;
  waitForPlaylist(deviceId: string, timeoutMs: number): Promise<boolean>;
}

export interface FrameServiceDeps {
  log: Logger;
  sessions: FrameSessions;
  layout: MediaLayout;
  /** The registry, password decrypted (gateway only). */
  connection: (deviceId: string) => Promise<DeviceConnection>;
  /** Default time for one picture (evidence.snapshotTimeoutMs). */
  timeoutMs: number;
  /** Asks a camera for its snapshot URI when none is stored (default: the ONVIF probe). */
  probe?: (conn: OnvifConn) => Promise<Pick<ProbeResult, 'snapshotUri' | 'warnings'>>;
  /** Carries camera credentials for the RTSP grab (default: a relay of its own, closed with the service). */
  relay?: MediaRelay;
}

/** An ONVIF failure asking for the snapshot URI, in the stream failure words. */
const ONVIF_FAILURES: Partial<Record<OnvifFailureKind, Failure>> = {
  refused: { kind: 'refused', reason: 'connection refused' },
  unreachable: { kind: 'unreachable', reason: 'camera unreachable' },
  host_not_found: { kind: 'unreachable', reason: 'host not found' },
  timeout: { kind: 'timeout', reason: 'no answer in time' },
  auth: { kind: 'auth', reason: 'authentication refused by camera' },
};

const noUri = (refused: boolean) => refused
  ? new GrabError('url', 'the snapshot URI the camera reports is not an allowed URL')
  : new GrabError('no-uri', 'the camera reports no snapshot URI');

/** What the camera said its snapshot URI is, kept this long (a probe is several SOAP calls). */
const PROBED_URI_TTL_MS = 5 * 60_000;
/** A session still starting is waited for, keeping this much of the time for the decode. */
const DECODE_RESERVE_MS = 400;

/**
 * Pictures of the cameras this node holds (gateway process), for snapshots and later the face
 * sampler: the running session's newest live segment (no second RTSP connection), else the
 * camera's snapshot URI (stored, or reported by ONVIF and checked), else a short RTSP grab; all
 * within one deadline. Requests for one camera at the same moment share one grab.
 */
export function createFrameService(deps: FrameServiceDeps) {
  const log = deps.log.child({ component: 'frames' });
  const relay = deps.relay ?? createRtspRelay({ log });
  const probe = deps.probe ?? probeDevice;
  const probed = new Map<string, { uri: string | null; refused: boolean; until: number }>();
  const inFlight = new Map<string, Promise<Frame>>();
  const tmpDir = deps.layout.tmp;
  const recorded = createRecordedFrames({ root: deps.layout.root, tmpDir });

  /**
   * The newest complete live segment the session wrote lately, or null. An fMP4 segment (H.265) is not
   * decodable alone: it is copied behind its init segment into a scratch file (`scratch`, removed after).
   */
  async function freshSegment(deviceId: string): Promise<{ path: string; takenAt: Date; scratch: string | null } | null> {
    const text = await readFile(deps.layout.livePlaylist(deviceId), 'utf8').catch(() => '');
    const seg = newestLiveSegment(text);
    if (!seg) return null;
    const dir = deps.layout.liveDir(deviceId);
    const path = join(dir, seg.name);
    const info = await stat(path).catch(() => null);
    if (!info?.isFile() || Date.now() - info.mtimeMs > FRESH_SEGMENT_MS) return null;
    // The segment is closed when listed: its last write is its end, so its start is a duration earlier.
    const takenAt = new Date(seg.startsAt ?? info.mtimeMs - seg.seconds * 1000);
    const init = seg.name.endsWith('.m4s') ? liveInitSegment(text) : null;
    if (!seg.name.endsWith('.m4s')) return { path, takenAt, scratch: null };
    if (!init) return null;
    const parts = await Promise.all([readFile(join(dir, init)), readFile(path)]).catch(() => null);
    if (!parts) return null;
    await mkdir(tmpDir, { recursive: true });
    const scratch = join(tmpDir, `live-${randomUUID()}.mp4`);
    await writeFile(scratch, Buffer.concat(parts));
    return { path: scratch, takenAt, scratch };
  }

  async function fromSession(deviceId: string, deadline: number): Promise<{ jpeg: Buffer; takenAt: Date }> {
    let seg = await freshSegment(deviceId);
    const info = deps.sessions.get(deviceId);
    if (!seg && info?.state === 'starting' && deadline - Date.now() > DECODE_RESERVE_MS) {
      // Its first segment may be a moment away. (A reconnecting session is not waited for: the
      // snapshot URI, next, may still answer.)
      if (await deps.sessions.waitForPlaylist(deviceId, deadline - Date.now() - DECODE_RESERVE_MS)) seg = await freshSegment(deviceId);
    }
    if (!seg) {
      const why = info ? `the session is ${info.state}${info.reason ? ` (${info.reason})` : ''} with no recent segment` : 'the session stopped';
      throw new GrabError(info?.state === 'reconnecting' || info?.state === 'failed' ? 'unreachable' : 'no-frame', why);
    }
    try {
      return { jpeg: await frameFromSegment(seg.path, { tmpDir, deadline }), takenAt: seg.takenAt };
    } finally {
      if (seg.scratch) await rm(seg.scratch, { force: true }).catch(() => {});
    }
  }

  /** The camera's snapshot URI: stored, else what its ONVIF service reports (checked there), cached a while. */
  async function snapshotUri(c: DeviceConnection, deadline: number): Promise<string> {
    if (c.snapshotUri) return c.snapshotUri;
    const cached = probed.get(c.id);
    if (cached && cached.until > Date.now()) {
      if (cached.uri) return cached.uri;
      throw noUri(cached.refused);
    }
    let result: Pick<ProbeResult, 'snapshotUri' | 'warnings'>;
    try {
      result = await probe({ host: c.onvifHost!, port: c.onvifPort ?? 80, username: c.username ?? '', password: c.password ?? '', timeoutMs: Math.max(1, deadline - Date.now()) });
    } catch (err) {
      if (!(err instanceof OnvifError)) throw err;
      const f = ONVIF_FAILURES[err.kind] ?? { kind: 'invalid-data', reason: `ONVIF ${err.kind.replaceAll('_', ' ')}` };
      throw new GrabError(f.kind, f.reason);
    }
    const refused = result.warnings.some((w) => w.code === 'onvif.snapshot_uri_refused');
    probed.set(c.id, { uri: result.snapshotUri, refused, until: Date.now() + PROBED_URI_TTL_MS });
    if (refused) log.warn({ deviceId: c.id }, 'the camera reported a snapshot URI that is not an allowed URL: refused, not opened');
    if (result.snapshotUri) return result.snapshotUri;
    throw noUri(refused);
  }

  async function fromOnvif(c: DeviceConnection, deadline: number): Promise<Buffer> {
    const uri = await snapshotUri(c, deadline);
    try {
      return await fetchSnapshot(uri, { username: c.username, password: c.password }, { deadline });
    } catch (err) {
      if (!(err instanceof UrlRefused)) throw err;
      // A stored value the URL policy refuses now (written around the API): never opened.
      log.warn({ deviceId: c.id, code: err.code }, 'snapshot URI refused by the URL policy: not opened');
      throw new GrabError('url', `the snapshot URI is not an allowed URL (${err.code})`);
    }
  }

  async function fromRtsp(c: DeviceConnection, deadline: number): Promise<Buffer> {
    let ticket;
    try {
      ticket = await relay.open({ url: c.rtspMain!, username: c.username, password: c.password });
    } catch (err) {
      if (err instanceof UrlRefused) throw new GrabError('url', `the stream URL is not an allowed URL (${err.code})`);
      throw err;
    }
    try {
      return await frameFromRtsp(ticket?.url ?? c.rtspMain!, { tmpDir, deadline, redact: ticket ? [ticket.token] : [] });
    } catch (err) {
      // The relay knows better than ffmpeg what the camera did (refused, timed out, 401).
      const f = ticket?.failure();
      if (f && err instanceof GrabError && err.kind !== 'timeout') throw new GrabError(f.kind, f.reason);
      if (err instanceof UrlRefused) throw new GrabError('url', `the stream URL is not an allowed URL (${err.code})`);
      throw err;
    } finally {
      ticket?.close();
    }
  }

  async function take(deviceId: string, timeoutMs: number): Promise<Frame> {
    const started = Date.now();
    const deadline = started + timeoutMs;
    const c = await deps.connection(deviceId);
    if (!c.enabled) throw conflict('this device is disabled', { code: 'snapshot.device_disabled' });
    const hasSession = deps.sessions.get(deviceId) !== null;
    if (!hasSession && c.credentialError) throw unprocessable(c.credentialError, { code: 'snapshot.camera_auth_failed', params: { reason: c.credentialError } });
    const plan = frameSources({
      session: hasSession, snapshotUri: Boolean(c.snapshotUri), onvif: Boolean(c.onvifHost),
      rtsp: c.kind !== 'mobile' && Boolean(c.rtspMain),
    });
    const attempts: Attempt[] = [];
    for (const [i, source] of plan.entries()) {
      const left = deadline - Date.now();
      if (left <= 0) break;
      const until = Date.now() + budgetFor(source, left, plan[i + 1]);
      try {
        const got = source === 'session' ? await fromSession(deviceId, until)
          : { jpeg: source === 'onvif' ? await fromOnvif(c, until) : await fromRtsp(c, until), takenAt: new Date() };
        const size = jpegInfo(got.jpeg)!;
        log.debug({ deviceId, source, ms: Date.now() - started, bytes: got.jpeg.length, failed: attempts }, 'frame taken');
        return { jpeg: got.jpeg, source, takenAt: got.takenAt, ...size };
      } catch (err) {
        if (!(err instanceof GrabError)) throw err;
        attempts.push({ source, kind: err.kind, reason: err.message });
      }
    }
    const timedOut = Date.now() >= deadline - 5 || attempts.at(-1)?.kind === 'timeout';
    const error = frameFailure(attempts, timedOut, Math.round(timeoutMs / 100) / 10);
    log.info({ deviceId, ms: Date.now() - started, attempts, code: error.code }, 'no frame');
    throw error;
  }

  return {
    /** One picture of a camera this node holds, within `timeoutMs` (default: the configured time). */
    grab(deviceId: string, timeoutMs = deps.timeoutMs): Promise<Frame> {
      if (!DEVICE_ID.test(deviceId)) return Promise.reject(notFound('device'));
      let p = inFlight.get(deviceId);
      if (!p) {
        p = take(deviceId, timeoutMs).finally(() => inFlight.delete(deviceId));
        inFlight.set(deviceId, p);
      }
      return p;
    },

    /** The frame `offsetMs` into one of this camera's recording segments (its path as the index holds it). */
    recorded(deviceId: string, segmentPath: string, offsetMs: number, timeoutMs = deps.timeoutMs): Promise<RecordedFrame> {
      if (!DEVICE_ID.test(deviceId)) return Promise.reject(notFound('device'));
      return recorded.grab(deviceId, segmentPath, offsetMs, timeoutMs);
    },

    async close(): Promise<void> {
      await Promise.allSettled([...inFlight.values()]);
      if (!deps.relay) await relay.close();
    },
  };
}

export type FrameService = ReturnType<typeof createFrameService>;
