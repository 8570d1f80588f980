import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import { createAlarmRaiser } from '../../console/server/alarms/raise.ts';
import { buildConsole } from '../../console/server/main.ts';
import type { App } from '../../core/http/app.ts';
import { benchPlatform, percentile } from './helpers.ts';

/**
 * Alarm fan-out: 20 WebSocket clients (each its own signed-in session) on a listening console,
 * subscribed to `alarms`; 200 alarms raised one after the other through the alarm raiser the
 * gateway uses (alarm row → event row → Redis pub/sub → the console's hub → 20 sockets). Each
 * receipt is timed from just before the raise; p95 over all 4,000 receipts.
 */
const CLIENTS = 20;
const ALARMS = 200;
const WARMUP = 5;
const round = (v: number) => Number(v.toFixed(1));

interface WsClient {
  on(event: string, listener: (...args: any[]) => void): void;
  send(data: string): void;
  close(): void;
}
type WsCtor = new (url: string, opts?: { headers?: Record<string, string> }) => WsClient;
const WS = createRequire(import.meta.url)('ws') as WsCtor;

export async function benchAlarms(): Promise<{ metrics: { alarm_fanout_p95_ms: number }; notes: string[] }> {
  const { platform, close } = await benchPlatform({ 'health.intervalSeconds': 86_400 });
  let consoleApp: App | null = null;
  const sockets: WsClient[] = [];
  try {
    consoleApp = await buildConsole(platform);
    await consoleApp.listen({ host: '127.0.0.1', port: 0 });
    const port = (consoleApp.server.address() as AddressInfo).port;
    await platform.identity.createUser({ username: 'bench-monitor', password: 'bench-password', roles: ['monitor'] });

    // seq → when its raise started; receipts per seq.
    const startedAt = new Map<number, number>();
    const receipts = new Map<number, number[]>();
    const waiters = new Map<number, () => void>();
    const onAlarm = (seq: number) => {
      const t0 = startedAt.get(seq);
      if (t0 === undefined) return;
      const list = receipts.get(seq) ?? [];
      list.push(performance.now() - t0);
      receipts.set(seq, list);
      if (list.length === CLIENTS) waiters.get(seq)?.();
    };

    for (let i = 0; i < CLIENTS; i++) {
      const login = await fetch(`http://127.0.0.1:${port}/api/auth/login`, {
        method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'bench-monitor', password: 'bench-password' }),
      });
      if (!login.ok) throw new Error(`login: ${login.status}`);
      const cookie = login.headers.get('set-cookie')!.split(';')[0]!;
      const ws = new WS(`ws://127.0.0.1:${port}/api/events`, { headers: { cookie } });
      sockets.push(ws);
      await new Promise<void>((resolve, reject) => {
        ws.on('error', reject);
        ws.on('message', (data: Buffer) => {
          const m = JSON.parse(data.toString()) as { op: string; event?: { payload: { alarm?: { details?: { seq?: number } } } } };
          if (m.op === 'hello') ws.send(JSON.stringify({ op: 'subscribe', topics: ['alarms'] }));
          else if (m.op === 'subscribed') resolve();
          else if (m.op === 'event') {
            const seq = m.event?.payload.alarm?.details?.seq;
            if (typeof seq === 'number') onAlarm(seq);
          }
        });
      });
    }

    const raiser = createAlarmRaiser({ db: platform.pool, eventLog: platform.eventLog });
    let lost = 0;
    const all: number[] = [];
    for (let seq = 0; seq < WARMUP + ALARMS; seq++) {
      const done = new Promise<boolean>((resolve) => {
        const t = setTimeout(() => resolve(false), 5000);
        waiters.set(seq, () => { clearTimeout(t); resolve(true); });
      });
      startedAt.set(seq, performance.now());
      await raiser.raise({ kind: 'manual', severity: 'warning', details: { seq, note: `bench alarm ${seq}` } });
      if (!(await done)) lost += CLIENTS - (receipts.get(seq)?.length ?? 0);
      waiters.delete(seq);
      if (seq >= WARMUP) all.push(...(receipts.get(seq) ?? []));
    }
    const p50 = percentile(all, 50);
    const p95 = percentile(all, 95);
    return {
      metrics: { alarm_fanout_p95_ms: round(p95) },
      notes: [
        `${ALARMS} alarms (after ${WARMUP} warm-up) raised one at a time through createAlarmRaiser to ${CLIENTS} sockets subscribed to 'alarms': ${all.length} receipts, ${lost} lost`,
        `receipt latency from just before the raise: p50 ${round(p50)} ms, p95 ${round(p95)} ms, max ${round(Math.max(...all))} ms`,
      ],
    };
  } finally {
    for (const ws of sockets) ws.close();
    await consoleApp?.close();
    await close();
  }
}
