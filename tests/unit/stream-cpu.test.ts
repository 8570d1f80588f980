import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { cpuSeconds, cpuSecondsOf, CpuMeter } from '../../gateway/streams/cpu.ts';

describe("a session's CPU cost", () => {
  it('reads utime + stime from /proc/<pid>/stat, whatever the command name holds', () => {
    const stat = (comm: string) => `4242 (${comm}) S 1 4242 4242 0 -1 4194560 900 0 0 0 250 50 0 0 20 0 3 0 12345 1000000 500 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0`;
    expect(cpuSecondsOf(stat('ffmpeg'))).toBe(3);
    expect(cpuSecondsOf(stat('odd) name (x'))).toBe(3);
    expect(cpuSecondsOf(stat('ffmpeg'), 1000)).toBe(0.3);
    expect(cpuSecondsOf('garbage')).toBeNull();
  });

  it('is percent of one core over the window, and starts over for a new process', () => {
    const m = new CpuMeter(5000);
    m.add(10, 0, 1);
    expect(m.percent()).toBeNull();
    m.add(10, 1000, 1.5);
    expect(m.percent()).toBe(50);
    for (let t = 2000; t <= 10_000; t += 1000) m.add(10, t, 1.5 + (t - 1000) / 1000 * 0.25);
    // The last 5 s at a quarter core, the first second's half core outside the window.
    expect(m.percent()).toBe(25);
    m.add(11, 11_000, 0);
    expect(m.percent()).toBeNull();
  });

  it('measures a real busy process', async () => {
    const busy = spawn(process.execPath, ['-e', 'const end = Date.now() + 3000; while (Date.now() < end);']);
    try {
      const m = new CpuMeter();
      for (let i = 0; i < 3; i++) {
        m.add(busy.pid!, Date.now(), (await cpuSeconds(busy.pid!))!);
        await new Promise((r) => setTimeout(r, 600));
      }
      // A spinning loop: most of a core (the machine is shared, so not exactly 100).
      expect(m.percent()).toBeGreaterThan(40);
      expect(m.percent()).toBeLessThanOrEqual(110);
      expect(await cpuSeconds(999_999_999)).toBeNull();
    } finally {
      busy.kill('SIGKILL');
    }
  });
});
