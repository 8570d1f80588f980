import { execFile } from 'node:child_process';
import { open, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { DEVICE_ID, type MediaLayout } from '../streams/layout.ts';
import type { RecordingRepository } from './repository.ts';
import type { IndexerStatus, NewSegment } from './types.ts';

const SEGMENT_NAME = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z\.ts$/;
const SEGMENT_LIST = /^segments-(\d{1,16})\.csv$/;
const DAY_DIR = /^\d{8}$/;
/**
 * ffmpeg prints a segment's list line and only then closes (and flushes) its file, so
 * the newest line of a list written less than this long ago waits for the next pass.
 */
const CLOSE_SETTLE_MS = 1000;
/** A list that is not its camera's newest and has not changed for this long is finished. */
const LIST_DONE_MS = 10_000;
/** A transcoding encoder names a segment up to this much after its first frame was captured. */
const NAME_DELAY_MS = 3000;
const BATCH = 5000;

/** The UTC start a segment's file name gives (second precision), or null if the name is not ours. */
export function segmentNameTime(name: string): number | null {
  const m = SEGMENT_NAME.exec(name);
  if (!m) return null;
  const t = Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6]));
  return `${new Date(t).toISOString().slice(0, 19).replace(/[-:]/g, '')}Z.ts` === name ? t : null;
}

export interface ListEntry { name: string; start: number; end: number }

/** One line of ffmpeg's csv segment list: `file,start_time,end_time` (file as written, maybe with a dir). */
export function parseListLine(line: string): ListEntry | null {
  const parts = line.trim().split(',');
  if (parts.length < 3) return null;
  const end = Number(parts.pop());
  const start = Number(parts.pop());
  const name = parts.join(',').replace(/^"|"$/g, '').split(/[\\/]/).pop() ?? '';
  if (!Number.isFinite(start) || !Number.isFinite(end) || end <= start || segmentNameTime(name) === null) return null;
  return { name, start, end };
}

/** Where the previous line of the same list ended: on the wall clock (ms) and in the session's media time (s). */
export interface Chain { endsAtMs: number; endTime: number }

/**
 * A list entry's wall-clock start and end. The file name gives the start to the
 * second; a segment that follows the previous one of its session continues from
 * where that one ended (start_time − end_time on the media clock), as long as that
 * agrees with its name, so segments of one session join without false gaps.
 */
export function segmentTimes(entry: ListEntry, previous: Chain | null): { startsAt: number; endsAt: number } {
  const named = segmentNameTime(entry.name)!;
  const expected = previous ? previous.endsAtMs + Math.round((entry.start - previous.endTime) * 1000) : null;
  const startsAt = startFrom(named, expected);
  return { startsAt, endsAt: startsAt + Math.round((entry.end - entry.start) * 1000) };
}

/**
 * A segment's start: where the clock says it continues (`expected`) when that agrees
 * with its name (named up to NAME_DELAY_MS after its first frame, truncated to the
 * second), otherwise the name.
 */
export function startFrom(named: number, expected: number | null): number {
  return expected !== null && expected >= named - NAME_DELAY_MS && expected <= named + 1100 ? expected : named;
}

/** Duration in seconds of a recording file, from ffprobe (null when it cannot tell). */
export function probeDuration(file: string, timeoutMs = 15_000): Promise<number | null> {
  return new Promise((resolve) => {
    execFile(process.env.FFPROBE_PATH ?? 'ffprobe', ['-v', 'error', '-show_entries', 'format=duration', '-of', 'default=noprint_wrappers=1:nokey=1', file],
      { timeout: timeoutMs }, (err, stdout) => {
        const seconds = Number(String(stdout).trim());
        resolve(!err && Number.isFinite(seconds) && seconds > 0 ? seconds : null);
      });
  });
}

export interface RecordingIndexerOptions {
  log: Logger;
  layout: MediaLayout;
  repo: RecordingRepository;
  nodeId: string;
  pollMs?: number;
  /** How often the day directories of today and yesterday are checked for files no list names. */
  rescanMs?: number;
  /** A file no list names is indexed only once it has not changed for this long. */
  settleMs?: number;
  /** Whether the camera's recording session runs now: its newest file may still grow. */
  isRecording?: (deviceId: string) => boolean;
  /** Told of the segments each insert added (the recording-gap alarm looks at the hole before each). */
  onIndexed?: (rows: readonly NewSegment[]) => Promise<unknown>;
}

interface ListState { offset: number; chain: Chain | null; done: boolean }
interface Pending { path: string; consumed: number; chain: Chain | null; done: boolean }

/**
 * Indexes recording segments as they close. It follows every session's segment
 * list (`rec/<id>/segments-*.csv`) by polling with a remembered offset, and on start
 * (and for recent days, every `rescanMs`) walks the day directories for files no
 * list names: a session killed mid-segment leaves one, which is probed with ffprobe.
 * Inserting is idempotent, so a restart re-reads everything and adds only what is missing.
 */
export function createRecordingIndexer(options: RecordingIndexerOptions) {
  const { log, layout, repo, nodeId } = options;
  const pollMs = options.pollMs ?? 1000;
  const rescanMs = options.rescanMs ?? 5 * 60_000;
  const settleMs = options.settleMs ?? 30_000;
  const isRecording = options.isRecording ?? (() => false);
  const recRoot = join(layout.root, 'rec');

  const lists = new Map<string, ListState>();
  const unknownDevices = new Set<string>();
  const unprobeable = new Set<string>();
  const status: IndexerStatus = { running: false, lastRunAt: null, lastIndexedAt: null, lastFullScanAt: null, lastError: null, following: 0, indexed: 0 };
  let timers: NodeJS.Timeout[] = [];
  let chain: Promise<unknown> = Promise.resolve();

  const rel = (deviceId: string, name: string) => `rec/${deviceId}/${name.slice(0, 8)}/${name}`;
  const list = (dir: string) => readdir(dir).catch(() => [] as string[]);

  async function insert(rows: NewSegment[]): Promise<number> {
    let inserted = 0;
    for (let i = 0; i < rows.length; i += BATCH) {
      const batch = rows.slice(i, i + BATCH);
      const result = await repo.insertSegments(batch, nodeId);
      inserted += result.inserted;
      if (result.inserted > 0 && options.onIndexed) {
        await options.onIndexed(batch).catch((err: Error) => log.error({ err: err.message }, 'could not check new recording segments for gaps'));
      }
      for (const id of result.unknownDevices) {
        if (unknownDevices.has(id)) continue;
        unknownDevices.add(id);
        log.warn({ deviceId: id }, 'recording segments of a device not in the registry: skipped');
      }
    }
    if (inserted > 0) {
      status.indexed += inserted;
      status.lastIndexedAt = new Date();
    }
    return inserted;
  }

  async function readNew(path: string, from: number, size: number): Promise<string[]> {
    const handle = await open(path, 'r');
    try {
      const buffer = Buffer.alloc(size - from);
      const { bytesRead } = await handle.read(buffer, 0, buffer.length, from);
      const end = buffer.subarray(0, bytesRead).lastIndexOf(0x0a);
      return end < 0 ? [] : buffer.subarray(0, end).toString('utf8').split('\n');
    } finally {
      await handle.close();
    }
  }

  /** New lines of one list → rows to insert, and how far the list is read once they are in. */
  async function followList(deviceId: string, path: string, state: ListState, newest: boolean, rows: NewSegment[]): Promise<Pending | null> {
    const info = await stat(path).catch(() => null);
    if (!info) return null;
    if (info.size < state.offset) Object.assign(state, { offset: 0, chain: null });
    const quiet = Date.now() - info.mtimeMs > LIST_DONE_MS;
    if (info.size === state.offset) return { path, consumed: 0, chain: state.chain, done: !newest && quiet };

    const lines = await readNew(path, state.offset, info.size);
    if (Date.now() - info.mtimeMs < CLOSE_SETTLE_MS) lines.pop();
    const entries: { entry: ListEntry | null; bytes: number; startsAt: number; endsAt: number }[] = [];
    let previous = state.chain;
    let unreadable = 0;
    for (const line of lines) {
      const entry = parseListLine(line);
      const times = entry ? segmentTimes(entry, previous) : { startsAt: 0, endsAt: 0 };
      if (entry) previous = { endsAtMs: times.endsAt, endTime: entry.end };
      else if (line.trim()) unreadable++;
      entries.push({ entry, bytes: Buffer.byteLength(line) + 1, ...times });
    }
    if (unreadable) log.warn({ list: path, lines: unreadable }, 'segment list lines not understood: skipped');

    let consumed = 0;
    for (let i = 0; i < entries.length; i += BATCH) {
      const batch = entries.slice(i, i + BATCH);
      const listed = batch.filter((e) => e.entry);
      const indexed = listed.length === 0 ? new Set<string>() : await repo.indexedPaths(deviceId, listed.map((e) => rel(deviceId, e.entry!.name)),
        { from: new Date(Math.min(...listed.map((e) => e.startsAt))), to: new Date(Math.max(...listed.map((e) => e.startsAt))) });
      for (const { entry, bytes, startsAt, endsAt } of batch) {
        if (entry) {
          const relPath = rel(deviceId, entry.name);
          if (!indexed.has(relPath)) {
            const file = await stat(join(layout.root, relPath)).catch(() => null);
            if (file?.size) rows.push({ deviceId, startsAt: new Date(startsAt), endsAt: new Date(endsAt), path: relPath, bytes: file.size });
            else log.debug({ path: relPath }, 'listed recording segment is gone: skipped');
          }
        }
        consumed += bytes;
      }
    }
    return { path, consumed, chain: previous, done: false };
  }

  /** Follow every segment list; returns the segments added. */
  async function followLists(): Promise<number> {
    let inserted = 0;
    const seen = new Set<string>();
    for (const deviceId of (await list(recRoot)).filter((d) => DEVICE_ID.test(d))) {
      const dir = join(recRoot, deviceId);
      const names = (await list(dir)).filter((n) => SEGMENT_LIST.test(n))
        .sort((a, b) => Number(SEGMENT_LIST.exec(a)![1]) - Number(SEGMENT_LIST.exec(b)![1]));
      const rows: NewSegment[] = [];
      const pending: Pending[] = [];
      for (const [i, name] of names.entries()) {
        const path = join(dir, name);
        seen.add(path);
        let state = lists.get(path);
        if (!state) lists.set(path, state = { offset: 0, chain: null, done: false });
        if (state.done) continue;
        const p = await followList(deviceId, path, state, i === names.length - 1, rows);
        if (p) pending.push(p);
      }
      inserted += await insert(rows);
      for (const p of pending) {
        const state = lists.get(p.path)!;
        state.offset += p.consumed;
        state.chain = p.chain;
        state.done = p.done;
      }
    }
    for (const path of lists.keys()) if (!seen.has(path)) lists.delete(path);
    status.following = [...lists.values()].filter((s) => !s.done).length;
    return inserted;
  }

  /** Index files no list names (a killed session's last segment), probing their length. */
  async function scanFiles(days: ((day: string) => boolean) | null): Promise<number> {
    let inserted = 0;
    for (const deviceId of (await list(recRoot)).filter((d) => DEVICE_ID.test(d))) {
      if (unknownDevices.has(deviceId)) continue;
      const dir = join(recRoot, deviceId);
      const dayDirs = (await list(dir)).filter((d) => DAY_DIR.test(d)).sort();
      let newest: string | null = null;
      for (let i = dayDirs.length - 1; i >= 0 && !newest; i--) {
        newest = (await list(join(dir, dayDirs[i]!))).filter((n) => SEGMENT_NAME.test(n)).sort().at(-1) ?? null;
      }
      const rows: NewSegment[] = [];
      for (const day of dayDirs.filter((d) => !days || days(d))) {
        const files = (await list(join(dir, day))).filter((n) => n.startsWith(day) && segmentNameTime(n) !== null);
        if (files.length === 0) continue;
        const dayStart = Date.UTC(Number(day.slice(0, 4)), Number(day.slice(4, 6)) - 1, Number(day.slice(6, 8)));
        const indexed = await repo.indexedPaths(deviceId, files.map((n) => rel(deviceId, n)), { from: new Date(dayStart), to: new Date(dayStart + 86_400_000) });
        for (const name of files) {
          const relPath = rel(deviceId, name);
          if (indexed.has(relPath) || unprobeable.has(relPath)) continue;
          if (name === newest && isRecording(deviceId)) continue;
          const file = await stat(join(layout.root, relPath)).catch(() => null);
          if (!file || Date.now() - file.mtimeMs < settleMs) continue;
          // ffmpeg writes in 256 KB chunks: a session killed early in a segment leaves it empty.
          const seconds = file.size > 0 ? await probeDuration(join(layout.root, relPath)) : null;
          if (!seconds) {
            unprobeable.add(relPath);
            if (file.size > 0) log.warn({ path: relPath, bytes: file.size }, 'recording file has no readable duration: not indexed');
            else log.debug({ path: relPath }, 'empty recording file (its session was killed): not indexed');
            continue;
          }
          const named = segmentNameTime(name)!;
          const startsAt = startFrom(named, (await repo.previousEnd(deviceId, new Date(named + 1100)))?.getTime() ?? null);
          rows.push({ deviceId, startsAt: new Date(startsAt), endsAt: new Date(startsAt + Math.round(seconds * 1000)), path: relPath, bytes: file.size });
        }
      }
      const added = await insert(rows);
      if (added) log.info({ deviceId, segments: added }, 'indexed recording files no segment list named');
      inserted += added;
    }
    return inserted;
  }

  const recentDays = () => {
    const day = (t: number) => new Date(t).toISOString().slice(0, 10).replace(/-/g, '');
    const keep = new Set([day(Date.now()), day(Date.now() - 86_400_000)]);
    return (d: string) => keep.has(d);
  };

  /** One pass, never two at once. A failure is recorded and logged; the next pass retries. */
  function pass(kind: 'follow' | 'recent' | 'full'): Promise<number> {
    const run = async () => {
      const started = Date.now();
      try {
        if (kind === 'full') unknownDevices.clear();
        let added = await followLists();
        if (kind !== 'follow') added += await scanFiles(kind === 'full' ? null : recentDays());
        status.lastRunAt = new Date();
        if (kind === 'full') {
          status.lastFullScanAt = status.lastRunAt;
          log.info({ segments: added, ms: Date.now() - started }, 'recording index checked against the media directory');
        }
        if (status.lastError) log.info('recording indexer recovered');
        status.lastError = null;
        return added;
      } catch (err) {
        const message = (err as Error).message;
        if (status.lastError !== message) log.error({ err }, 'recording index pass failed; retrying');
        status.lastError = message;
        throw err;
      }
    };
    const p = chain.then(run, run);
    chain = p.catch(() => {});
    return p;
  }

  const every = (ms: number, kind: 'follow' | 'recent') => {
    const timer = setInterval(() => { if (status.running) pass(kind).catch(() => {}); }, ms);
    timer.unref();
    timers.push(timer);
  };

  return {
    /** Re-index everything on disk (segments closed while the gateway was down), then follow. */
    start(): void {
      if (status.running) return;
      status.running = true;
      pass('full').catch(() => {});
      every(pollMs, 'follow');
      every(rescanMs, 'recent');
    },
    async stop(): Promise<void> {
      status.running = false;
      for (const t of timers) clearInterval(t);
      timers = [];
      await chain;
    },
    /** A full pass now (lists, then every day directory); resolves with the segments added. */
    indexNow: () => pass('full'),
    status: (): IndexerStatus => ({ ...status }),
  };
}

export type RecordingIndexer = ReturnType<typeof createRecordingIndexer>;
