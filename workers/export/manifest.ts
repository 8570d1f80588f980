import type { KeyObject } from 'node:crypto';
import { signBytes, verifyBytes } from '../../core/signing.ts';
import type { Gap, GapReason, Manifest } from './types.ts';

/**
 * The manifest, as pure functions: planning a camera's cut from its index rows (what is
 * delivered, every gap and where it falls in the MP4), the canonical bytes that are signed,
 * signing and checking them.
 */

/** Segments closer than this are one continuous recording (index times are rounded, clocks drift). */
export const GAP_TOLERANCE_MS = 1000;

export interface PlanSegment<S> { seg: S; startsAt: Date; endsAt: Date; readable: boolean }
export interface CutPart<S> { seg: S; /** Seconds into the file to start at (null: from its start). */ inpoint: number | null; /** Seconds into the file to stop at (null: to its end). */ outpoint: number | null }

export interface CutPlan<S> {
  parts: CutPart<S>[];
  delivered: { from: string; to: string }[];
  gaps: Gap[];
}

/**
 * Which segments make a camera's MP4 over [from, to), trimmed at both ends, and the gaps:
 * stretches with no segment ('no_recording') and segments that could not be read
 * ('unreadable'). Nothing is bridged: each gap names its place in the MP4 timeline (atMs),
 * which is the sum of what was delivered before it.
 */
export function planCut<S>(from: Date, to: Date, segments: readonly PlanSegment<S>[], toleranceMs = GAP_TOLERANCE_MS): CutPlan<S> {
  const parts: CutPart<S>[] = [];
  const delivered: { from: number; to: number }[] = [];
  const gaps: { from: number; to: number; reason: GapReason; atMs: number }[] = [];
  const end = to.getTime();
  let cursor = from.getTime();
  let timeline = 0;
  // A gap ends the delivered range it follows: the next readable part opens a new one.
  let broken = true;
  const gap = (a: number, b: number, reason: GapReason) => {
    broken = true;
    const last = gaps.at(-1);
    if (last && last.reason === reason && a - last.to <= toleranceMs) last.to = b;
    else gaps.push({ from: a, to: b, reason, atMs: timeline });
  };
  for (const s of [...segments].sort((a, b) => a.startsAt.getTime() - b.startsAt.getTime())) {
    const start = Math.max(s.startsAt.getTime(), cursor);
    const stop = Math.min(s.endsAt.getTime(), end);
    if (stop <= start) continue;
    if (start - cursor > toleranceMs) gap(cursor, start, 'no_recording');
    if (!s.readable) {
      gap(start, stop, 'unreadable');
    } else {
      const offset = start - s.startsAt.getTime();
      parts.push({
        seg: s.seg,
        inpoint: offset > 0 ? offset / 1000 : null,
        outpoint: stop < s.endsAt.getTime() ? (stop - s.startsAt.getTime()) / 1000 : null,
      });
      if (broken) delivered.push({ from: start, to: stop });
      else delivered.at(-1)!.to = stop;
      broken = false;
      timeline += stop - start;
    }
    cursor = stop;
  }
  if (end - cursor > toleranceMs) gap(cursor, end, 'no_recording');
  const iso = (ms: number) => new Date(ms).toISOString();
  return {
    parts,
    delivered: delivered.map((d) => ({ from: iso(d.from), to: iso(d.to) })),
    gaps: gaps.map((g) => ({ from: iso(g.from), to: iso(g.to), reason: g.reason, atMs: g.atMs })),
  };
}

/** JSON with object keys sorted at every depth: the same manifest always gives the same bytes. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

export const manifestBytes = (m: Manifest): Buffer => Buffer.from(canonicalJson(m) + '\n', 'utf8');

/** The detached signature file: the Ed25519 signature of manifest.json's bytes, base64, one line. */
export const signManifest = (key: KeyObject, bytes: Buffer): Buffer => Buffer.from(signBytes(key, bytes).toString('base64') + '\n', 'ascii');

export function checkManifestSignature(key: KeyObject, bytes: Buffer, sigFile: Buffer): boolean {
  const text = sigFile.toString('ascii').trim();
  if (!/^[A-Za-z0-9+/]{86}==$/.test(text)) return false;
  return verifyBytes(key, bytes, Buffer.from(text, 'base64'));
}

/** A manifest read back from a package, checked for the shape the verifier relies on. */
export function parseManifest(bytes: Buffer): Manifest | null {
  let m: unknown;
  try { m = JSON.parse(bytes.toString('utf8')); } catch { return null; }
  const o = m as Partial<Manifest>;
  if (!o || typeof o !== 'object' || o.format !== 'skynet.evidence-export/1' || !Array.isArray(o.files) || !o.signer || typeof o.signer.publicKeyPem !== 'string') return null;
  const okFile = (f: unknown) => {
    const x = f as { path?: unknown; bytes?: unknown; sha256?: unknown };
    return typeof x?.path === 'string' && Number.isSafeInteger(x.bytes) && typeof x.sha256 === 'string' && /^[0-9a-f]{64}$/.test(x.sha256);
  };
  return o.files.every(okFile) ? (o as Manifest) : null;
}
