import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { checkMediaTokenSignature, signMediaToken } from '../../core/crypto.ts';
import { jpegInfo } from '../../gateway/frames/jpeg.ts';
import { budgetFor, frameFailure, frameSources, newestLiveSegment, type Attempt } from '../../gateway/frames/plan.ts';
import { judgeSnapshotToken, mintSnapshotToken } from '../../workers/snapshot/token.ts';
import { snapshotJobId } from '../../workers/snapshot/types.ts';

// The snapshot feature's decisions as plain values: what counts as a JPEG, which live segment
// is the newest, where a picture may come from, what a failure answers, and the image link.

const dir = mkdtempSync(join(tmpdir(), 'skynet-jpeg-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A real JPEG of w×h from ffmpeg (the encoder the gateway uses). */
function realJpeg(w: number, h: number): Buffer {
  const out = join(dir, `${w}x${h}.jpg`);
  execFileSync('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-f', 'lavfi', '-i', `testsrc2=size=${w}x${h}:rate=1`, '-frames:v', '1', '-c:v', 'mjpeg', '-y', out]);
  return readFileSync(out);
}

describe('jpegInfo', () => {
  const jpeg = realJpeg(320, 180);

  it('reads the size of a whole JPEG, tolerating a little padding after EOI', () => {
    expect(jpegInfo(jpeg)).toEqual({ width: 320, height: 180 });
    expect(jpegInfo(realJpeg(1920, 1080))).toEqual({ width: 1920, height: 1080 });
    expect(jpegInfo(Buffer.concat([jpeg, Buffer.alloc(4)]))).toEqual({ width: 320, height: 180 });
  });

  it.each([
    ['a truncated picture', jpeg.subarray(0, jpeg.length - 40)],
    ['no start of image', jpeg.subarray(2)],
    ['a PNG', Buffer.from('89504e470d0a1a0a0000000d49484452', 'hex')],
    ['HTML', Buffer.from('<html><body>login</body></html>')],
    ['/etc/passwd', Buffer.from('root:x:0:0:root:/root:/bin/bash\n')],
    ['SOI and EOI only', Buffer.from([0xff, 0xd8, 0xff, 0xd9])],
    ['a segment length past the end', Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0x7f, 0xff, 0xff, 0xd9])],
    ['empty', Buffer.alloc(0)],
  ])('refuses %s', (_what, buf) => {
    expect(jpegInfo(buf)).toBeNull();
  });
});

describe('newestLiveSegment', () => {
  it('is the last segment listed, stamped with its program date-time', () => {
    const text = [
      '#EXTM3U', '#EXT-X-VERSION:3', '#EXT-X-TARGETDURATION:1', '#EXT-X-MEDIA-SEQUENCE:1700000000',
      '#EXT-X-PROGRAM-DATE-TIME:2024-06-01T08:00:00.000+0000', '#EXTINF:1.000000,', 'seg-1700000000.ts',
      '#EXT-X-PROGRAM-DATE-TIME:2024-06-01T08:00:01.000+0000', '#EXTINF:1.200000,', 'seg-1700000001.ts', '',
    ].join('\n');
    expect(newestLiveSegment(text)).toEqual({ name: 'seg-1700000001.ts', startsAt: Date.parse('2024-06-01T08:00:01Z'), seconds: 1.2 });
  });

  it('carries the time forward by the durations when a segment has no tag of its own', () => {
    const text = '#EXT-X-PROGRAM-DATE-TIME:2024-06-01T08:00:00Z\n#EXTINF:2,\nseg-1.ts\n#EXTINF:1.5,\nseg-2.ts\n';
    expect(newestLiveSegment(text)).toEqual({ name: 'seg-2.ts', startsAt: Date.parse('2024-06-01T08:00:02Z'), seconds: 1.5 });
  });

  it.each([
    ['an empty playlist', ''],
    ['a playlist still starting', '#EXTM3U\n#EXT-X-VERSION:3\n'],
    ['only names that are not ours', '#EXTINF:1,\n../../secret.key\n#EXTINF:1,\nseg-1.ts?x=1\n#EXTINF:1,\nfile:///etc/passwd\n'],
  ])('finds none in %s', (_what, text) => {
    expect(newestLiveSegment(text)).toBeNull();
  });

  it('has no time when the playlist carries none', () => {
    expect(newestLiveSegment('#EXTINF:1,\nseg-7.ts\n')).toEqual({ name: 'seg-7.ts', startsAt: null, seconds: 1 });
  });
});

describe('frameSources', () => {
  it.each([
    [{ session: true, snapshotUri: true, onvif: true, rtsp: true }, ['session', 'onvif']],
    [{ session: true, snapshotUri: false, onvif: false, rtsp: true }, ['session']],
    [{ session: false, snapshotUri: true, onvif: false, rtsp: true }, ['onvif', 'rtsp']],
    [{ session: false, snapshotUri: false, onvif: true, rtsp: true }, ['onvif', 'rtsp']],
    [{ session: false, snapshotUri: false, onvif: false, rtsp: true }, ['rtsp']],
    [{ session: false, snapshotUri: false, onvif: false, rtsp: false }, []],
  ] as const)('%o → %o (never a second RTSP connection while a session runs)', (input, sources) => {
    expect(frameSources(input)).toEqual(sources);
  });
});

describe('budgetFor', () => {
  it('leaves an RTSP grab time after the snapshot URI, and gives the last source all that is left', () => {
    expect(budgetFor('onvif', 2500, 'rtsp')).toBe(1500);
    expect(budgetFor('onvif', 2500, undefined)).toBe(2500);
    expect(budgetFor('session', 2500, 'onvif')).toBe(2500);
    expect(budgetFor('rtsp', 900, undefined)).toBe(900);
  });
});

describe('frameFailure', () => {
  const a = (source: Attempt['source'], kind: Attempt['kind'], reason = kind): Attempt => ({ source, kind, reason });
  it.each([
    ['nothing to try', [], false, 422, 'snapshot.no_source'],
    ['only refused URIs', [a('onvif', 'url'), a('rtsp', 'url')], false, 422, 'snapshot.no_source'],
    ['no snapshot URI and a refused stream URL', [a('onvif', 'no-uri'), a('rtsp', 'url')], false, 422, 'snapshot.no_source'],
    ['credentials refused', [a('onvif', 'auth'), a('rtsp', 'auth')], false, 422, 'snapshot.camera_auth_failed'],
    ['refused connections', [a('onvif', 'refused'), a('rtsp', 'refused')], false, 502, 'snapshot.camera_unreachable'],
    ['out of time', [a('onvif', 'timeout'), a('rtsp', 'timeout')], true, 504, 'snapshot.camera_unreachable'],
    ['out of time after an auth refusal', [a('onvif', 'auth'), a('rtsp', 'timeout')], true, 504, 'snapshot.camera_unreachable'],
    ['a session reconnecting', [a('session', 'unreachable')], false, 502, 'snapshot.camera_unreachable'],
  ] as const)('%s → %i %s', (_what, attempts, timedOut, status, code) => {
    const err = frameFailure(attempts, timedOut, 2.5);
    expect(err).toMatchObject({ statusCode: status, code });
    expect(err.params?.reason).toBe(attempts.map((x) => `${x.source}: ${x.reason}`).join('; ') || 'no source');
  });
});

describe('snapshotJobId', () => {
  const dev = '2f1c3c1e-8a6b-4f7e-9a51-0c6b2d4e8f10';
  it('is the same for the same camera, purpose and ref, different otherwise, and a valid BullMQ id', () => {
    const id = snapshotJobId(dev, 'alarm', 'alarm:42');
    expect(id).toBe(snapshotJobId(dev, 'alarm', 'alarm:42'));
    expect(id).toMatch(/^snap-[0-9a-f]{40}$/);
    expect(snapshotJobId(dev, 'incident', 'alarm:42')).not.toBe(id);
    expect(snapshotJobId(dev, 'alarm', 'alarm:43')).not.toBe(id);
    expect(snapshotJobId('3f1c3c1e-8a6b-4f7e-9a51-0c6b2d4e8f10', 'alarm', 'alarm:42')).not.toBe(id);
  });
});

describe('snapshot image links', () => {
  const key = Buffer.alloc(32, 7);
  const signer = { signing: async () => ({ kid: 'k1', key }) };
  const ids = { userId: 'u-1', deviceId: 'd-1', snapshotId: 's-1' };
  const holder = { disabled: false, revokedAt: null };
  const now = Date.UTC(2024, 5, 1, 8, 0, 0);

  it('passes a fresh link of this snapshot, for ten minutes', async () => {
    const { token, expiresAt } = await mintSnapshotToken(signer, ids, now);
    expect(expiresAt.getTime()).toBe(now + 600_000);
    expect(judgeSnapshotToken({ check: checkMediaTokenSignature(key, token, now + 599_000), snapshotId: 's-1', user: holder })).toEqual({ ok: true, userId: 'u-1' });
  });

  it('refuses altered, expired, revoked, disabled, other-snapshot and live tokens', async () => {
    const { token } = await mintSnapshotToken(signer, ids, now);
    const judge = (t: string, o: { at?: number; snapshotId?: string; user?: { disabled: boolean; revokedAt: Date | null } | null } = {}) =>
      judgeSnapshotToken({ check: checkMediaTokenSignature(key, t, o.at ?? now + 1000), snapshotId: o.snapshotId ?? 's-1', user: o.user === undefined ? holder : o.user });
    expect(judge(`${token.slice(0, -2)}xx`)).toMatchObject({ status: 401, code: 'media.token_invalid' });
    expect(judgeSnapshotToken({ check: null, snapshotId: 's-1', user: holder })).toMatchObject({ status: 401, code: 'media.token_invalid' });
    expect(judge(token, { at: now + 601_000 })).toMatchObject({ status: 401, code: 'media.token_expired' });
    expect(judge(token, { user: { disabled: false, revokedAt: new Date(now + 500) } })).toMatchObject({ status: 401, code: 'media.token_revoked' });
    expect(judge(token, { user: { disabled: false, revokedAt: new Date(now - 5000) } })).toEqual({ ok: true, userId: 'u-1' });
    expect(judge(token, { user: { disabled: true, revokedAt: null } })).toMatchObject({ status: 401, code: 'media.token_revoked' });
    expect(judge(token, { user: null })).toMatchObject({ status: 401, code: 'media.token_revoked' });
    expect(judge(token, { snapshotId: 's-2' })).toMatchObject({ status: 403, code: 'snapshot.token_wrong_snapshot' });
    const iat = Math.floor(now / 1000);
    const live = signMediaToken(key, { sub: 'u-1', cam: 'd-1', kid: 'k1', scope: 'live', iat, exp: iat + 600, snap: 's-1' });
    expect(judge(live)).toMatchObject({ status: 403, code: 'snapshot.token_wrong_snapshot' });
  });
});
