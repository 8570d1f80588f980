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

/** What gst-launch printed while playing, and what it printed once it began to shut down. */
export interface GstPlay { code: number | null; playing: string; shutdown: string }

/**
 * Play an RTSP URL in GStreamer's rtspsrc (a third-party client) until `num-buffers` reach the sink, with
 * stdout and stderr in one stream so that the order of what it printed is kept. gst-launch 1.22's rtspsrc
 * sometimes races its own PAUSE against the TEARDOWN it has already sent when the pipeline goes to NULL
 * after EOS, and then exits 1 with "gst_rtspsrc_pause (): Could not send message. (Received end-of-file)"
 * although the server answered the TEARDOWN and the client closed the connection (seen in 2 of 100 runs):
 * callers judge the playback by what came before "Setting pipeline to NULL".
 */
export async function gstPlay(uri: string, user: string, password: string, chain: string[], timeoutMs = 20_000): Promise<GstPlay> {
  const args = ['rtspsrc', `location=${uri}`, 'protocols=tcp', `user-id=${user}`, `user-pw=${password}`, '!', ...chain];
  const r = await run('sh', ['-c', 'exec gst-launch-1.0 "$@" 2>&1', 'sh', ...args], timeoutMs);
  const at = r.stdout.indexOf('Setting pipeline to NULL');
  return { code: r.code, playing: at < 0 ? r.stdout : r.stdout.slice(0, at), shutdown: at < 0 ? '' : r.stdout.slice(at) };
}

/** Check a gstPlay: it reached EOS without an error, and any error at shutdown is only rtspsrc's PAUSE/TEARDOWN race. */
export function gstPlayedCleanly(p: GstPlay): string | null {
  if (!p.playing.includes('Got EOS')) return `no EOS:\n${p.playing}${p.shutdown}`;
  if (/ERROR|WARNING/.test(p.playing)) return `an error while playing:\n${p.playing}`;
  if (p.code === 0) return null;
  const errors = p.shutdown.split('\n').filter((l) => l.startsWith('ERROR') || /\.c\(\d+\)/.test(l));
  const race = errors.length > 0 && errors.every((l) => l.includes('rtspsrc') || /gst_rtspsrc_(pause|try_send|close)/.test(l));
  return race && /Could not send message\. \(Received end-of-file\)/.test(p.shutdown) ? null : `exit ${p.code}:\n${p.playing}${p.shutdown}`;
}
