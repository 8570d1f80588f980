import type { RampWatch, WatchStats } from './gateway-load.ts';
import { startLive, type Ctx } from './gateway-stack.ts';
import { percentile } from './helpers.ts';
import { entryEndMs, parseMediaPlaylist, type PlaylistEntry } from './hls-playlist.ts';
import { WebSocket } from './ws-client.ts';

/**
 * Cheap viewers for the watched ramp (gateway-load.ts RampWatch): per session one HLS viewer and one
 * low-latency WebSocket viewer, both on the URLs of the session's console POST /api/devices/:id/live
 * answer. They count what they are served and decode nothing; one that falls behind is a finding.
 */

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const median = (v: number[]) => percentile(v, 50);
const finiteMax = (v: number[]) => v.reduce((a, b) => Math.max(a, b), v.length ? -Infinity : NaN);
/** An HLS viewer is behind when a segment arrives later than this many target durations after its end (the judge's 2, plus its own poll). */
export const HLS_BEHIND_TARGETS = 3;
/** A low-latency viewer is behind when a message reaches it this long after reaching the gateway (the low-latency target). */
export const LOWLAT_BEHIND_MS = 1000;

type Report = (kind: string, text: string) => void;

/** What every viewer adds to during a hold (reset in place at each hold's start). */
interface Tally { hlsBytes: number; wsBytes: number; hlsLagMs: number[]; wsDelayMs: number[] }

/** GET a URL and count its body's bytes as they come, keeping none. */
async function drain(url: string, onBytes: (n: number) => void): Promise<number> {
  const res = await fetch(url);
  const reader = res.body?.getReader();
  if (reader) {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      onBytes(value.byteLength);
    }
  }
  return res.status;
}

/**
 * An HLS viewer: every target duration GET the live playlist, then each segment new since the last
 * one it got (and each fMP4 init segment once). It joins at the newest segment, near the live edge as a player does.
 */
function hlsViewer(url: string, tally: Tally, report: Report) {
  let stopped = false;
  let lastSeq = -1;
  const inits = new Set<string>();
  const count = (n: number) => { tally.hlsBytes += n; };

  async function getSegment(e: PlaylistEntry, target: number): Promise<void> {
    if (e.map && !inits.has(e.map)) {
      inits.add(e.map);
      const status = await drain(new URL(e.map, url).href, count);
      if (status !== 200) report('hls-http', `init segment ${e.map} GET ${status}`);
    }
    const status = await drain(new URL(e.uri, url).href, count);
    if (status !== 200) { report('hls-http', `segment ${e.seq} GET ${status}`); return; }
    const lag = Date.now() - entryEndMs(e);
    if (!Number.isFinite(lag)) return;
    tally.hlsLagMs.push(lag);
    if (lag > HLS_BEHIND_TARGETS * target * 1000) report('hls-behind', `HLS viewer got segment ${e.seq} ${Math.round(lag)} ms after its end (target ${target} s)`);
  }

  /** One poll: the playlist, then what is new in it; returns the target duration. */
  async function poll(): Promise<number> {
    const res = await fetch(url);
    const text = await res.text();
    count(Buffer.byteLength(text));
    if (!res.ok) { report('hls-http', `playlist GET ${res.status}`); return 1; }
    const p = parseMediaPlaylist(text);
    if (!p) { report('hls-playlist', 'served playlist lists no segment'); return 1; }
    const fresh = p.entries.filter((e) => e.seq > lastSeq).slice(lastSeq < 0 ? -1 : 0);
    if (lastSeq >= 0 && fresh[0] && fresh[0].seq > lastSeq + 1) {
      report('hls-missed', `HLS viewer missed segments ${lastSeq + 1}–${fresh[0].seq - 1}: they left the playlist before it got them`);
    }
    for (const e of fresh) {
      await getSegment(e, p.target);
      lastSeq = e.seq;
    }
    return p.target;
  }

  const loop = (async () => {
    while (!stopped) {
      const t0 = Date.now();
      let target = 1;
      try { target = await poll(); } catch (e) { report('hls-error', `HLS viewer: ${(e as Error).message}`); }
      await sleep(Math.max(0, target * 1000 - (Date.now() - t0)));
    }
  })();
  return { async close() { stopped = true; await loop; } };
}

/** A low-latency viewer: reads and counts every message; checks each media message's delay from the gateway's arrival stamp. */
function lowLatencyViewer(wsUrl: string, tally: Tally, report: Report) {
  const ws = new WebSocket(wsUrl);
  let closing = false;
  ws.on('message', (data: Buffer, binary: boolean) => {
    tally.wsBytes += data.length;
    if (binary) {
      if (data.length < 9 || data[0] === 1) return; // the init segment
      const delay = Date.now() - data.readDoubleBE(1);
      tally.wsDelayMs.push(delay);
      if (delay > LOWLAT_BEHIND_MS) report('ws-behind', `low-latency viewer got a fragment ${Math.round(delay)} ms after it reached the gateway`);
      return;
    }
    const m = JSON.parse(data.toString()) as { type: string; dropped?: number; reason?: string };
    if (m.type === 'skip') report('ws-skip', `the gateway skipped the low-latency viewer forward (${m.dropped ?? '?'} dropped): it fell behind`);
    else if (m.type === 'end') report('ws-end', `low-latency feed ended: ${m.reason ?? ''}`);
  });
  const closed = new Promise<void>((resolve) => ws.on('close', (code: number) => {
    if (!closing) report('ws-closed', `low-latency socket closed (${code})`);
    resolve();
  }));
  ws.on('error', (e: Error) => report('ws-error', `low-latency socket: ${e.message}`));
  return { async close() { closing = true; ws.close(); await Promise.race([closed, sleep(2000)]); } };
}

/** Watch every session of a ramp through the console: POST /live per session, then its two viewers. */
export function watchSessions(ctx: Ctx): RampWatch {
  const tally: Tally = { hlsBytes: 0, wsBytes: 0, hlsLagMs: [], wsDelayMs: [] };
  const viewers: { close(): Promise<void> }[] = [];
  let findings: { id: string; kind: string; text: string }[] = [];
  /** Sessions the console would not give a live answer for: a finding of every hold. */
  const refused: { id: string; kind: string; text: string }[] = [];
  let holdStarted = performance.now();
  const counts = { hls: 0, lowlat: 0 };

  async function attachOne(id: string): Promise<void> {
    const report: Report = (kind, text) => { findings.push({ id, kind, text }); };
    try {
      const live = await startLive(ctx, id, 0);
      viewers.push(hlsViewer(live.url, tally, report), lowLatencyViewer(live.wsUrl, tally, report));
      counts.hls++;
      counts.lowlat++;
    } catch (e) {
      refused.push({ id, kind: 'live-api', text: `console POST /live failed: ${(e as Error).message.slice(0, 200)}` });
    }
  }

  return {
    async attach(ids) {
      for (let i = 0; i < ids.length; i += 8) await Promise.all(ids.slice(i, i + 8).map(attachOne));
    },
    holdStart() {
      findings = [];
      Object.assign(tally, { hlsBytes: 0, wsBytes: 0, hlsLagMs: [], wsDelayMs: [] });
      holdStarted = performance.now();
    },
    holdEnd() {
      const secs = (performance.now() - holdStarted) / 1000;
      const stats: WatchStats = {
        viewers: { ...counts },
        hlsMbitS: (tally.hlsBytes * 8) / 1e6 / secs,
        lowlatMbitS: (tally.wsBytes * 8) / 1e6 / secs,
        hlsLagMs: { median: median(tally.hlsLagMs), max: finiteMax(tally.hlsLagMs) },
        lowlatDelayMs: { median: median(tally.wsDelayMs), max: finiteMax(tally.wsDelayMs) },
      };
      return { findings: [...refused, ...findings], stats };
    },
    async close() {
      await Promise.all(viewers.splice(0).map((v) => v.close()));
    },
  };
}
