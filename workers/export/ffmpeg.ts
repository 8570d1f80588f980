import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';

/**
 * The cut: ffmpeg's concat demuxer over a list we write from index rows (our own absolute
 * paths, never request text), `inpoint`/`outpoint` on the first and last file, stream copy
 * (no re-encode: the cut starts at the keyframe before `inpoint`). Only the file and pipe
 * protocols are allowed.
 *
 * The MP4 goes to ffmpeg's stdout and from there straight into the package (hashed and
 * zipped as it passes), so it is written once. A pipe cannot be seeked back into, so the MP4
 * is fragmented: its `moov` comes first (a player starts at once, as with +faststart), each
 * fragment follows at a keyframe, and the `mfra` index at the end gives players the seek
 * table and ffprobe the duration. H.265 keeps its codec, tagged `hvc1` (what QuickTime,
 * Safari and Windows' players expect).
 */

export interface ConcatPart {
  /** A local path, or an http(s) URL of our own gateway node's internal API. */
  path: string;
  inpoint: number | null;
  outpoint: number | null;
  /** For a URL: the Authorization header value (written into the list file, never onto a command line). */
  authorization?: string;
}

const isUrl = (path: string) => /^https?:\/\//.test(path);

const FFPROBE = () => process.env.FFPROBE_PATH ?? 'ffprobe';

/** concat's quoting: inside single quotes, a quote is closed, escaped and reopened. */
const quote = (path: string) => `'${path.replaceAll("'", "'\\''")}'`;

/**
 * How much of each file after the first ffmpeg reads to probe it. concat probes every file as
 * a new input (avformat_find_stream_info decodes frames up to probesize, 5 MB by default: half
 * the CPU of a long export); the output streams take their parameters from the first file, so
 * the later ones need only their PAT/PMT, which a recorder's segment starts with. The MP4 is
 * byte for byte the same (checked on a one-hour export).
 */
export const LATER_FILE_PROBESIZE = 65_536;

export function concatList(parts: readonly ConcatPart[]): string {
  const lines = ['ffconcat version 1.0'];
  for (const [i, p] of parts.entries()) {
    lines.push(`file ${quote(p.path)}`);
    if (i > 0) lines.push(`option probesize ${LATER_FILE_PROBESIZE}`);
    // One header, without the CRLF ffmpeg adds (a line break would end the directive).
    if (p.authorization) lines.push(`option headers ${quote(`Authorization: ${p.authorization}`)}`);
    if (p.inpoint !== null) lines.push(`inpoint ${p.inpoint.toFixed(3)}`);
    if (p.outpoint !== null) lines.push(`outpoint ${p.outpoint.toFixed(3)}`);
  }
  return lines.join('\n') + '\n';
}

export function concatArgs(listPath: string, o: { hevc: boolean; remote?: boolean }): string[] {
  return [
    '-hide_banner', '-nostdin', '-loglevel', 'error',
    // http(s) only where the list names our own nodes' segment URLs (built from index rows and the node table).
    '-protocol_whitelist', o.remote ? 'file,pipe,http,https,tcp,tls' : 'file,pipe',
    '-f', 'concat', '-safe', '0', '-i', listPath,
    '-map', '0:v?', '-map', '0:a?', '-c', 'copy',
    ...(o.hevc ? ['-tag:v', 'hvc1'] : []),
    '-movflags', '+frag_keyframe+empty_moov+default_base_moof', '-f', 'mp4', 'pipe:1',
  ];
}

export interface Keyframe { pts: number; dts: number }

/** A TS file's first timestamp and keyframe times in seconds, and its video codec (ffprobe's name); defaults where unreadable. */
export function probeSegment(path: string, signal?: AbortSignal): Promise<{ startTime: number; codec: string | null; keyframes: Keyframe[] }> {
  return new Promise((resolve) => {
    execFile(FFPROBE(), ['-v', 'error', '-protocol_whitelist', 'file', '-select_streams', 'v:0',
      '-show_entries', 'format=start_time:stream=codec_name:packet=pts_time,dts_time,flags', '-of', 'json', path],
    { timeout: 30_000, signal, maxBuffer: 64 * 1024 * 1024 }, (err, stdout) => {
      let parsed: { format?: { start_time?: string }; streams?: { codec_name?: string }[]; packets?: { pts_time?: string; dts_time?: string; flags?: string }[] } = {};
      try { parsed = JSON.parse(String(stdout)); } catch { /* unreadable: defaults */ }
      const t = Number(parsed.format?.start_time);
      const keyframes = (parsed.packets ?? []).filter((k) => k.flags?.startsWith('K'))
        .map((k) => ({ pts: Number(k.pts_time), dts: Number(k.dts_time ?? k.pts_time) })).filter((k) => Number.isFinite(k.pts) && Number.isFinite(k.dts));
      resolve({ startTime: !err && Number.isFinite(t) ? t : 0, codec: parsed.streams?.[0]?.codec_name ?? null, keyframes });
    });
  });
}

/**
 * The inpoint in the file's own timestamps: the last keyframe shown at or before the wanted
 * time, or null (from the file's start) when that is its first one. concat compares inpoint
 * with decoding timestamps, and an inpoint between two keyframes makes the MPEG-TS demuxer
 * start at the *next* one, losing up to a GOP of what was asked; so the inpoint is that
 * keyframe's DTS (below its PTS where the stream has B-frames, as H.265 cameras' do).
 */
export function keyframeInpoint(wanted: number, keyframes: readonly Keyframe[]): number | null {
  let best: Keyframe | null = null;
  for (const k of keyframes) if (k.pts <= wanted + 0.001 && (!best || k.pts > best.pts)) best = k;
  if (!best) return null;
  return keyframes.some((k) => k.pts < best!.pts) ? best.dts : null;
}

/**
 * Writes the concat list for `parts` and answers ffmpeg's arguments and the codec. Trims are
 * in each file's own timestamps (recorders keep PTS running across files); an inpoint goes
 * back to the keyframe before it, so the cut starts at or before what was asked.
 */
export async function prepareCut(parts: readonly ConcatPart[], listPath: string, signal?: AbortSignal): Promise<{ args: string[]; codec: string | null }> {
  let codec: string | null = null;
  const shifted = await Promise.all(parts.map(async (p, i) => {
    if (p.inpoint === null && p.outpoint === null && i > 0) return p;
    if (isUrl(p.path)) throw new Error('a trimmed or first part must be a local file (it is probed)');
    const probe = await probeSegment(p.path, signal);
    if (i === 0) codec = probe.codec;
    return {
      path: p.path,
      inpoint: p.inpoint === null ? null : keyframeInpoint(p.inpoint + probe.startTime, probe.keyframes),
      outpoint: p.outpoint === null ? null : p.outpoint + probe.startTime,
    };
  }));
  // The list may hold the service token: readable by this user only.
  await writeFile(listPath, concatList(shifted), { mode: 0o600 });
  return { args: concatArgs(listPath, { hevc: codec === 'hevc', remote: parts.some((p) => isUrl(p.path)) }), codec };
}
