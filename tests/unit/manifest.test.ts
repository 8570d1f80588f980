import { generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { fingerprintOf } from '../../core/signing.ts';
import { concatArgs, concatList } from '../../workers/export/ffmpeg.ts';
import { canonicalJson, checkManifestSignature, manifestBytes, parseManifest, planCut, signManifest, type PlanSegment } from '../../workers/export/manifest.ts';
import type { Manifest } from '../../workers/export/types.ts';

// The export's pure parts: the cut plan (delivered ranges, gaps and where they fall in the
// MP4), canonical manifest bytes and their Ed25519 signature, and the exact ffmpeg input.
const T = Date.parse('2026-05-01T08:00:00Z');
const at = (s: number) => new Date(T + s * 1000);
const iso = (s: number) => at(s).toISOString();
const seg = (from: number, to: number, readable = true): PlanSegment<string> => ({ seg: `s${from}`, startsAt: at(from), endsAt: at(to), readable });

describe('planCut', () => {
  it('trims the first and last segment to the range and delivers it whole', () => {
    const p = planCut(at(5), at(25), [seg(0, 10), seg(10, 20), seg(20, 30)]);
    expect(p.parts).toEqual([{ seg: 's0', inpoint: 5, outpoint: null }, { seg: 's10', inpoint: null, outpoint: null }, { seg: 's20', inpoint: null, outpoint: 5 }]);
    expect(p.delivered).toEqual([{ from: iso(5), to: iso(25) }]);
    expect(p.gaps).toEqual([]);
  });

  it('declares missing and unreadable stretches, each at its place in the MP4 timeline', () => {
    const p = planCut(at(0), at(70), [seg(0, 10), seg(20, 30), seg(30, 40, false), seg(40, 50, false), seg(50, 60)]);
    expect(p.parts.map((x) => x.seg)).toEqual(['s0', 's20', 's50']);
    expect(p.gaps).toEqual([
      { from: iso(10), to: iso(20), reason: 'no_recording', atMs: 10_000 },
      { from: iso(30), to: iso(50), reason: 'unreadable', atMs: 20_000 },
      { from: iso(60), to: iso(70), reason: 'no_recording', atMs: 30_000 },
    ]);
    expect(p.delivered).toEqual([{ from: iso(0), to: iso(10) }, { from: iso(20), to: iso(30) }, { from: iso(50), to: iso(60) }]);
  });

  it('joins segments closer than the tolerance, and reports a range with nothing readable as one gap', () => {
    const joined = planCut(at(0), at(20), [seg(0, 9.6), seg(10, 20)]);
    expect(joined.gaps).toEqual([]);
    expect(joined.delivered).toEqual([{ from: iso(0), to: iso(20) }]);
    const none = planCut(at(0), at(20), [seg(0, 10, false)]);
    expect(none.parts).toEqual([]);
    expect(none.delivered).toEqual([]);
    expect(none.gaps).toEqual([{ from: iso(0), to: iso(10), reason: 'unreadable', atMs: 0 }, { from: iso(10), to: iso(20), reason: 'no_recording', atMs: 0 }]);
  });
});

describe('the manifest', () => {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const manifest = {
    format: 'skynet.evidence-export/1', exportId: 'e', caseNumber: 'A-1', reason: '取证', requestedBy: { userId: 'u', name: 'n' },
    requestedAt: iso(0), builtAt: iso(1), signer: { algorithm: 'Ed25519', publicKeyPem: publicKey.export({ format: 'pem', type: 'spki' }).toString(), fingerprint: fingerprintOf(publicKey) },
    cameras: [], snapshots: [], files: [{ path: 'video/a.mp4', bytes: 3, sha256: 'a'.repeat(64) }],
  } satisfies Manifest;

  it('has canonical bytes whatever the key order', () => {
    expect(canonicalJson({ b: 1, a: { d: [2, { z: 1, y: 2 }], c: null } })).toBe('{"a":{"c":null,"d":[2,{"y":2,"z":1}]},"b":1}');
    const shuffled = Object.fromEntries(Object.entries(manifest).reverse()) as unknown as Manifest;
    expect(manifestBytes(shuffled).equals(manifestBytes(manifest))).toBe(true);
  });

  it('signs and checks; any changed byte or another key fails', () => {
    const bytes = manifestBytes(manifest);
    const sig = signManifest(privateKey, bytes);
    expect(checkManifestSignature(publicKey, bytes, sig)).toBe(true);
    const changed = Buffer.from(bytes);
    changed[20]! ^= 1;
    expect(checkManifestSignature(publicKey, changed, sig)).toBe(false);
    expect(checkManifestSignature(generateKeyPairSync('ed25519').publicKey, bytes, sig)).toBe(false);
    expect(checkManifestSignature(publicKey, bytes, Buffer.from('not a signature'))).toBe(false);
    expect(parseManifest(bytes)).toEqual(manifest);
    expect(parseManifest(Buffer.from('{"format":"other"}'))).toBeNull();
    expect(parseManifest(Buffer.from('{'))).toBeNull();
  });
});

describe('the ffmpeg cut', () => {
  it('lists our own paths, quoted, with in- and outpoints, and copies into a fragmented MP4 on stdout with only file and pipe allowed', () => {
    expect(concatList([{ path: "/m/rec/a'b.ts", inpoint: 6.4, outpoint: null }, { path: '/m/rec/c.ts', inpoint: null, outpoint: 3.25 }]))
      .toBe("ffconcat version 1.0\nfile '/m/rec/a'\\''b.ts'\ninpoint 6.400\nfile '/m/rec/c.ts'\noption probesize 65536\noutpoint 3.250\n");
    const common = ['-hide_banner', '-nostdin', '-loglevel', 'error', '-protocol_whitelist', 'file,pipe', '-f', 'concat', '-safe', '0', '-i', '/t/list.txt',
      '-map', '0:v?', '-map', '0:a?', '-c', 'copy'];
    const fragmented = ['-movflags', '+frag_keyframe+empty_moov+default_base_moof', '-f', 'mp4', 'pipe:1'];
    expect(concatArgs('/t/list.txt', { hevc: false })).toEqual([...common, ...fragmented]);
    // H.265 keeps its codec, tagged as the players that read MP4 expect.
    expect(concatArgs('/t/list.txt', { hevc: true })).toEqual([...common, '-tag:v', 'hvc1', ...fragmented]);
  });
});
