import { execFileSync } from 'node:child_process';
import { readFile } from 'node:fs/promises';

/**
 * What a session's ffmpeg costs: its CPU time from /proc/<pid>/stat, as percent of one core over
 * a sliding window. A copy session costs well under 1 %; a transcode about a core per 1080p
 * stream, which is why the node caps them and shows what each one takes.
 */

let ticksPerSecond: number | null = null;
/** The kernel's clock ticks per second (CLK_TCK, 100 on Linux as shipped). */
function clockTicks(): number {
  if (ticksPerSecond === null) {
    try { ticksPerSecond = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8', timeout: 2000 }).trim()) || 100; } catch { ticksPerSecond = 100; }
  }
  return ticksPerSecond;
}

/** utime + stime in seconds from a /proc/<pid>/stat line; null for anything else. */
export function cpuSecondsOf(stat: string, ticks = 100): number | null {
  // The command name (field 2) is in parentheses and may hold spaces or ')': fields count from the last ')'.
  const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // rest[0] is field 3 (state); utime and stime are fields 14 and 15.
  const utime = Number(rest[11]);
  const stime = Number(rest[12]);
  return Number.isFinite(utime) && Number.isFinite(stime) && rest.length > 13 ? (utime + stime) / ticks : null;
}

/** A process's CPU seconds so far; null where it cannot be read (gone, not Linux). */
export async function cpuSeconds(pid: number): Promise<number | null> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => null);
  return stat === null ? null : cpuSecondsOf(stat, clockTicks());
}

/** Percent of one core over the last `windowMs`, from samples of (wall ms, CPU seconds) of one process. */
export class CpuMeter {
  private samples: { at: number; cpu: number }[] = [];
  private pid: number | null = null;
  constructor(private readonly windowMs = 5000) {}

  add(pid: number, at: number, cpu: number): void {
    if (pid !== this.pid) { this.pid = pid; this.samples = []; }
    this.samples.push({ at, cpu });
    while (this.samples.length > 2 && at - this.samples[1]!.at >= this.windowMs) this.samples.shift();
  }

  /** Null until two samples at least 900 ms apart. */
  percent(): number | null {
    const first = this.samples[0];
    const last = this.samples.at(-1);
    if (!first || !last || last.at - first.at < 900) return null;
    return Math.max(0, Math.round(((last.cpu - first.cpu) / ((last.at - first.at) / 1000)) * 1000) / 10);
  }

  reset(): void { this.samples = []; this.pid = null; }
}
