import { execFile } from 'node:child_process';
import { mkdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';

/**
 * The pre-encoded files the gateway benchmark's simulated cameras loop (gateway-sim.ts): testsrc2,
 * 1080p25, ~4 Mbit/s, no B-frames, a keyframe every `gopSeconds` and never in between, parameter sets
 * before every keyframe; H.264 (libx264 main, veryfast) or H.265 (libx265 Main, ultrafast). Encoded
 * once into bench-results/.cache.
 */

export const SOURCE = { width: 1920, height: 1080, fps: 25, bitrate: '4M' } as const;
/** File length: 10 s, rounded up to whole GOPs so the loop never cuts one short. */
const BASE_SECONDS = 10;

export type SourceCodec = 'h264' | 'h265';

export interface EncodedSource {
  path: string;
  kbps: number;
  codec: SourceCodec;
  gopSeconds: number;
  seconds: number;
}

function encoderArgs(codec: SourceCodec, gop: string): string[] {
  const rate = ['-b:v', SOURCE.bitrate, '-maxrate', SOURCE.bitrate, '-bufsize', '8M'];
  if (codec === 'h265') {
    return ['-c:v', 'libx265', '-preset', 'ultrafast', '-profile:v', 'main', '-pix_fmt', 'yuv420p', ...rate,
      '-g', gop, '-keyint_min', gop, '-bf', '0',
      '-x265-params', `keyint=${gop}:min-keyint=${gop}:scenecut=0:bframes=0:open-gop=0:repeat-headers=1:info=0:log-level=error`,
      '-f', 'hevc'];
  }
  return ['-c:v', 'libx264', '-preset', 'veryfast', '-profile:v', 'main', '-pix_fmt', 'yuv420p', ...rate,
    '-g', gop, '-keyint_min', gop, '-sc_threshold', '0', '-bf', '0', '-x264-params', 'repeat-headers=1', '-f', 'h264'];
}

/** The looped file for a codec and GOP; the 1 s GOP H.264 one is the file the suite has always used. */
export async function encodedSource(o: { codec: SourceCodec; gopSeconds: number }): Promise<EncodedSource> {
  const gopFrames = SOURCE.fps * o.gopSeconds;
  const seconds = Math.ceil(BASE_SECONDS / o.gopSeconds) * o.gopSeconds;
  const dir = join(process.cwd(), 'bench-results', '.cache');
  const ext = o.codec === 'h265' ? 'hevc' : 'h264';
  const path = join(dir, `testsrc2-${SOURCE.width}x${SOURCE.height}p${SOURCE.fps}-${SOURCE.bitrate}-gop${gopFrames}.${ext}`);
  const size = () => { try { return statSync(path).size; } catch { return 0; } };
  if (size() === 0) {
    mkdirSync(dir, { recursive: true });
    await promisify(execFile)('ffmpeg', [
      '-hide_banner', '-nostdin', '-loglevel', 'error', '-y',
      '-f', 'lavfi', '-i', `testsrc2=size=${SOURCE.width}x${SOURCE.height}:rate=${SOURCE.fps}`, '-t', String(seconds),
      ...encoderArgs(o.codec, String(gopFrames)), path,
    ], { timeout: 300_000 });
  }
  return { path, kbps: (size() * 8) / seconds / 1000, codec: o.codec, gopSeconds: o.gopSeconds, seconds };
}

/** The notes' line about the source and who loops it. */
export function sourceNote(s: EncodedSource, cameras: number): string {
  const codec = s.codec === 'h265' ? 'H.265 (libx265 Main, ultrafast)' : 'H.264 (libx264 main, veryfast)';
  return `source: ${SOURCE.width}x${SOURCE.height}p${SOURCE.fps} ${codec} (testsrc2, ${s.gopSeconds} s GOP, no B-frames, ${s.seconds} s file) at ${Math.round(s.kbps)} kbit/s, looped in real time by ${cameras} simulated camera${cameras === 1 ? '' : 's'} in a child process (RTSP over TCP)`;
}
