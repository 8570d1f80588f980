import { connect } from 'node:net';

export type ProbeOutcome = { ok: true; latencyMs: number; status: number } | { ok: false; code: 'unreachable' | 'timeout' | 'protocol'; message: string };

/**
 * Is an RTSP service answering? One OPTIONS request over TCP: any RTSP status
 * (200, 401…) counts as alive. It opens no media session, so it does not use
 * one of the camera's few RTSP session slots.
 */
export function rtspOptions(url: string, timeoutMs: number): Promise<ProbeOutcome> {
  const u = new URL(url);
  const port = Number(u.port) || (u.protocol === 'rtsps:' ? 322 : 554);
  const started = Date.now();
  u.username = '';
  u.password = '';
  return new Promise((resolve) => {
    let buffer = '';
    let settled = false;
    const socket = connect({ host: u.hostname, port });
    const done = (outcome: ProbeOutcome) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      resolve(outcome);
    };
    const timer = setTimeout(() => done({ ok: false, code: 'timeout', message: `RTSP ${u.hostname}:${port} did not answer within ${timeoutMs} ms` }), timeoutMs);
    socket.setEncoding('latin1');
    socket.on('connect', () => socket.write(`OPTIONS ${u.toString()} RTSP/1.0\r\nCSeq: 1\r\nUser-Agent: Skynet-Health\r\n\r\n`));
    socket.on('data', (chunk: string) => {
      buffer += chunk;
      const m = /^RTSP\/1\.\d (\d{3})/.exec(buffer);
      if (m) return done({ ok: true, latencyMs: Date.now() - started, status: Number(m[1]) });
      if (buffer.length >= 12 || buffer.length > 4096) done({ ok: false, code: 'protocol', message: `RTSP ${u.hostname}:${port} answered something that is not RTSP` });
    });
    socket.on('error', (err: NodeJS.ErrnoException) =>
      done({ ok: false, code: 'unreachable', message: `RTSP ${u.hostname}:${port} unreachable (${err.code ?? err.message})` }));
    socket.on('close', () => done({ ok: false, code: 'unreachable', message: `RTSP ${u.hostname}:${port} closed the connection` }));
  });
}
