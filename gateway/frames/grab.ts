import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rm } from 'node:fs/promises';
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { join } from 'node:path';
import { classifyFailure, type FailureKind } from '../streams/decide.ts';
import { spawnFfmpeg } from '../streams/ffmpeg.ts';
import { authorization, chooseChallenge, parseChallenges } from '../streams/relay-protocol.ts';
import { connectFailure } from '../streams/rtsp-relay.ts';
import { checkMediaUrl, PROTOCOL_WHITELIST, UrlRefused } from '../streams/url-policy.ts';
import { jpegInfo, MAX_JPEG_BYTES } from './jpeg.ts';
import type { Attempt } from './plan.ts';

/**
 * The frame adapters: one picture out of a live segment file or a short RTSP pull (ffmpeg, an
 * argument array, never a shell, `-protocol_whitelist` set, killed at the deadline), or from a
 * camera's HTTP snapshot URI (http/https only, Digest or Basic answered only when challenged,
 * no redirects followed, size capped). Every result is checked to be a whole JPEG.
 */

/** ffmpeg's socket timeout is never longer than this (µs), whatever the deadline. */
const MAX_IO_TIMEOUT_US = 5_000_000;

/** Why a grab failed, in the stream failure words (decide.ts) plus the frame service's own. */
export class GrabError extends Error {
  constructor(readonly kind: Attempt['kind'], message: string) {
    super(message);
    this.name = 'GrabError';
  }
}

const JPEG_OUT = ['-map', '0:v:0', '-an', '-frames:v', '1', '-c:v', 'mjpeg', '-q:v', '3', '-f', 'image2', '-update', '1'];

/**
 * Run a one-picture ffmpeg until it exits or the deadline passes (then its group is killed), and
 * return the JPEG it wrote. `redact`: strings never to appear in a failure reason (a relay token).
 */
async function runOnePicture(input: string[], tmpDir: string, deadline: number, redact: readonly string[] = []): Promise<Buffer> {
  await mkdir(tmpDir, { recursive: true });
  const out = join(tmpDir, `frame-${randomBytes(8).toString('hex')}.jpg`);
  const proc = spawnFfmpeg(['-hide_banner', '-nostdin', '-nostats', '-loglevel', 'error', '-y', ...input, ...JPEG_OUT, out], { tailLines: 8, redact });
  let timer: NodeJS.Timeout | undefined;
  try {
    const ended = await Promise.race([
      proc.exited,
      new Promise<null>((r) => { timer = setTimeout(() => r(null), Math.max(0, deadline - Date.now())); }),
    ]);
    if (ended === null) {
      await proc.stop(150);
      throw new GrabError('timeout', 'no picture in time');
    }
    if (ended.code !== 0 || ended.error) {
      const f = classifyFailure(proc.tail.get(), ended);
      throw new GrabError(f.kind, f.reason);
    }
    const jpeg = await readFile(out).catch(() => null);
    if (!jpeg || !jpegInfo(jpeg)) throw new GrabError('no-frame', 'ffmpeg decoded no picture');
    return jpeg;
  } finally {
    clearTimeout(timer);
    await rm(out, { force: true });
  }
}

/**
 * The first keyframe of a live segment file the session wrote (a path we built from the device
 * id and ffmpeg's segment name, never from a request), decoded to JPEG. Only `file` may open.
 */
export function frameFromSegment(path: string, o: { tmpDir: string; deadline: number }): Promise<Buffer> {
  return runOnePicture(['-protocol_whitelist', 'file', '-skip_frame', 'nokey', '-f', 'mpegts', '-i', path], o.tmpDir, o.deadline);
}

/**
 * The frame of a recording segment file (a path the index holds, checked and resolved under the
 * media root by recorded.ts, never taken from a request as it is) nearest `offsetSeconds` into it:
 * input seeking, decoded from the keyframe before, so the picture is the one at that moment.
 */
export function frameFromRecording(path: string, offsetSeconds: number, o: { tmpDir: string; deadline: number }): Promise<Buffer> {
  const ss = Math.max(0, offsetSeconds).toFixed(3);
  return runOnePicture(['-protocol_whitelist', 'file', '-ss', ss, '-f', 'mpegts', '-i', path], o.tmpDir, o.deadline);
}

/**
 * One keyframe pulled over RTSP/TCP. `input` never holds credentials (they would show in `ps`):
 * the credential relay's one-time loopback URL stands in for a camera that needs them.
 */
export function frameFromRtsp(input: string, o: { tmpDir: string; deadline: number; redact?: readonly string[] }): Promise<Buffer> {
  const checked = checkMediaUrl(input, 'streams.main', ['rtsp', 'rtsps']);
  if (checked.username || checked.password) throw new UrlRefused('streams.main', 'credentials are never put on ffmpeg\'s command line', 'url.invalid');
  const timeoutUs = Math.min(MAX_IO_TIMEOUT_US, Math.max(100_000, (o.deadline - Date.now()) * 1000));
  return runOnePicture([
    '-rtsp_transport', 'tcp', '-timeout', String(timeoutUs),
    '-protocol_whitelist', PROTOCOL_WHITELIST[checked.scheme],
    // The SDP names the codec and its parameter sets: no probing, decode the first keyframe.
    '-probesize', '32', '-analyzeduration', '0', '-skip_frame', 'nokey',
    '-i', checked.url,
  ], o.tmpDir, o.deadline, o.redact);
}

/** What a socket error means, in the stream failure words. */
function socketFailure(err: NodeJS.ErrnoException): GrabError {
  if (err instanceof GrabError) return err;
  const f = connectFailure(err);
  return new GrabError(f.kind, f.reason);
}

interface Answer { status: number; headers: IncomingHttpHeaders; body: Buffer }

/**
 * One GET with node's own client (not fetch: it refuses ports such as 554 that cameras use),
 * no keep-alive, the whole exchange within `deadline`, the body refused past `max` bytes.
 */
function get(url: URL, auth: string | undefined, deadline: number, max: number): Promise<Answer> {
  return new Promise((resolve, reject) => {
    let error: GrabError | null = null;
    let done = false;
    const fail = (e: GrabError) => { error ??= e; req.destroy(); };
    const tooLarge = () => new GrabError('invalid-data', `the picture is larger than ${max} bytes`);
    const request = url.protocol === 'https:' ? httpsRequest : httpRequest;
    const req = request(url, {
      method: 'GET', agent: false,
      // Cameras ship self-signed certificates, as for rtsps (the relay does the same).
      ...(url.protocol === 'https:' ? { rejectUnauthorized: false } : {}),
      headers: { accept: 'image/jpeg', connection: 'close', ...(auth ? { authorization: auth } : {}) },
    }, (res) => {
      if (Number(res.headers['content-length'] ?? 0) > max) return fail(tooLarge());
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (c: Buffer) => {
        size += c.length;
        if (size > max) fail(tooLarge());
        else chunks.push(c);
      });
      res.on('error', (err) => { error ??= socketFailure(err); });
      res.on('end', () => { done = true; resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }); });
    });
    const timer = setTimeout(() => fail(new GrabError('timeout', 'no answer in time')), Math.max(1, deadline - Date.now()));
    req.on('error', (err) => { error ??= socketFailure(err); });
    req.on('close', () => {
      clearTimeout(timer);
      if (!done) reject(error ?? new GrabError('lost', 'connection to camera lost'));
    });
    req.end();
  });
}

/**
 * GET a camera's snapshot URI. The URI is checked first (http/https with a host: a `file:` or any
 * other scheme a camera reports throws UrlRefused and nothing is opened); credentials go in an
 * Authorization header answering the camera's challenge, never in the URL; a redirect is not
 * followed; the answer must be a whole JPEG of at most `maxBytes`.
 */
export async function fetchSnapshot(uri: string, creds: { username: string | null; password: string | null }, o: { deadline: number; maxBytes?: number }): Promise<Buffer> {
  const checked = checkMediaUrl(uri, 'streams.snapshot', ['http', 'https']);
  const username = creds.username ?? checked.username ?? null;
  const password = creds.password ?? checked.password ?? '';
  const url = new URL(checked.url);
  const max = o.maxBytes ?? MAX_JPEG_BYTES;
  let res = await get(url, undefined, o.deadline, max);
  if (res.status === 401 && username) {
    const challenge = chooseChallenge(parseChallenges([res.headers['www-authenticate'] ?? []].flat()));
    if (!challenge) throw new GrabError('auth', 'the camera asks for an authentication scheme we do not speak');
    res = await get(url, authorization(challenge, { username, password, method: 'GET', uri: `${url.pathname}${url.search}`, nc: 1 }), o.deadline, max);
  }
  if (res.status === 401 || res.status === 403) throw new GrabError('auth', `authentication refused by camera (${res.status})`);
  if (res.status !== 200) {
    const kind: FailureKind = res.status === 404 ? 'not-found' : 'invalid-data';
    throw new GrabError(kind, res.status >= 300 && res.status < 400 ? `the camera answered a redirect (${res.status}), not followed` : `the camera answered HTTP ${res.status}`);
  }
  const jpeg = res.body;
  if (!jpegInfo(jpeg)) throw new GrabError('invalid-data', 'the camera\'s answer is not a JPEG picture');
  return jpeg;
}
