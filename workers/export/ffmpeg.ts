import { execFile, spawn } from 'node:child_process';
import { writeFile } from 'node:fs/promises';

/**
 * The cut: ffmpeg's concat demuxer over a list we write from index rows (our own absolute
 * paths, never request text), `inpoint`/`outpoint` on the first and last file, stream copy
 * (no re-encode: the cut starts at the keyframe before `inpoint`), one MP4 with its index
 * in front (+faststart). Only the file and pipe protocols are allowed.
 */

export interface ConcatPart { path: string; inpoint: number | null; outpoint: number | null }

const FFMPEG = () => process.env.FFMPEG_PATH ?? 'ffmpeg';
const FFPROBE = () => process.env.FFPROBE_PATH ?? 'ffprobe';

/** concat's quoting: inside single quotes, a quote is closed, escaped and reopened. */
const quote = (path: string) => `'${path.replaceAll("'", "'\\''")}'`;

export function concatList(parts: readonly ConcatPart[]): string {
  const lines = ['ffconcat version 1.0'];
  for (const p of parts) {
    lines.push(`file ${quote(p.path)}`);
    if (p.inpoint !== null) lines.push(`inpoint ${p.inpoint.toFixed(3)}`);
    if (p.outpoint !== null) lines.push(`outpoint ${p.outpoint.toFixed(3)}`);
  }
  return lines.join('\n') + '\n';
}

export function concatArgs(listPath: string, outPath: string): string[] {
  return [
    '-hide_banner', '-nostdin', '-loglevel', 'error',
    '-protocol_whitelist', 'file,pipe',
    '-f', 'concat', '-safe', '0', '-i', listPath,
    '-map', '0:v?', '-map', '0:a?', '-c', 'copy',
    '-movflags', '+faststart', '-f', 'mp4', '-y', outPath,
  ];
}

/** The first timestamp of a TS file in seconds: concat's inpoint/outpoint are in the file's own timestamps. */
export function startTime(path: string, signal?: AbortSignal): Promise<number> {
  return new Promise((resolve) => {
    execFile(FFPROBE(), ['-v', 'error', '-protocol_whitelist', 'file', '-show_entries', 'format=start_time', '-of', 'default=noprint_wrappers=1:nokey=1', path],
      { timeout: 30_000, signal }, (err, stdout) => {
        const t = Number(String(stdout).trim());
        resolve(!err && Number.isFinite(t) ? t : 0);
      });
  });
}

/** Cut and join `parts` into `outPath`; rejects with ffmpeg's last stderr lines. */
export async function cutToMp4(parts: readonly ConcatPart[], listPath: string, outPath: string, signal?: AbortSignal): Promise<void> {
  // Trims are relative to each file's first timestamp (recorders keep PTS running across files).
  const shifted = await Promise.all(parts.map(async (p) => {
    if (p.inpoint === null && p.outpoint === null) return p;
    const t0 = await startTime(p.path, signal);
    return { path: p.path, inpoint: p.inpoint === null ? null : p.inpoint + t0, outpoint: p.outpoint === null ? null : p.outpoint + t0 };
  }));
  await writeFile(listPath, concatList(shifted));
  await new Promise<void>((resolve, reject) => {
    const child = spawn(FFMPEG(), concatArgs(listPath, outPath), { stdio: ['ignore', 'ignore', 'pipe'], signal, killSignal: 'SIGKILL' });
    let tail = '';
    child.stderr.on('data', (c: Buffer) => { tail = (tail + c.toString()).slice(-2000); });
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`ffmpeg exited ${code}: ${tail.trim().split('\n').slice(-3).join(' | ')}`))));
  });
}
