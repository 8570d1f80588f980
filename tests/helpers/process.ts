import { spawn } from 'node:child_process';
import type { SimCamera } from '../../gateway/simulator/types.ts';

/** What a client process printed and how it ended. */
export interface Run { code: number | null; stdout: string; stderr: string }

/** A client (ffprobe, gst-launch-1.0) in its own process group, killed with it on timeout. */
export function run(cmd: string, args: string[], timeoutMs = 20_000): Promise<Run> {
  const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => { stdout += d.toString(); });
  child.stderr.on('data', (d: Buffer) => { stderr = (stderr + d.toString()).slice(-4000); });
  const timer = setTimeout(() => { try { process.kill(-child.pid!, 'SIGKILL'); } catch { /* gone */ } }, timeoutMs);
  return new Promise((resolve) => {
    child.on('error', (e) => { stderr += String(e); });
    child.on('close', (code) => { clearTimeout(timer); resolve({ code, stdout, stderr }); });
  });
}

/** A simulated camera's RTSP URL with its credentials in it (for clients outside the gateway). */
export const withCreds = (cam: SimCamera, profile: 'main' | 'sub' = 'main') =>
  cam.rtspUri(profile).replace('rtsp://', `rtsp://${cam.spec.username}:${encodeURIComponent(cam.spec.password)}@`);
