import { rmdir, unlink } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Logger } from 'pino';
import { withTransaction } from '../../core/db/pool.ts';
import type { WorkerDeps } from '../deps.ts';
import { EXPORT_PATH, SNAPSHOT_PATH } from '../evidence.ts';
import { aboveHighWater, bytesToFree, chunks, cutoffOf, diskFollowed } from './decide.ts';
import { createHoldRepository } from './holds.ts';
import { createRetentionRepository, type RetentionRepository } from './repository.ts';
import type { PurgeRow, RetentionReport } from './types.ts';

/** Paths per gateway removal call (its route takes up to 10,000; smaller calls keep each one short). */
export const REMOVE_CHUNK = 2000;
/** Removal batches under way at once. */
const IN_FLIGHT = 4;
/** Evidence files unlinked at once. */
const EVIDENCE_PARALLEL = 8;

export interface RunOptions {
  trigger: RetentionReport['trigger'];
  log: Logger;
  /** Aborted on shutdown: the run stops between batches (each batch is whole) and the job goes back to the queue. */
  signal?: AbortSignal;
  progress?: (p: Record<string, unknown>) => Promise<void>;
}

type Deps = Pick<WorkerDeps, 'platform' | 'media' | 'evidence'>;

/**
 * One retention run. Under a database-wide advisory lock (a second run at the same time
 * does nothing): finish the purge queue a previous run or a crash left; delete what is
 * past its period (segments and snapshots per camera retentionDays, decommissioned cameras
 * included; export packages after evidence.exportRetentionDays, their holds released);
 * then free each live node above the high-water mark, oldest unheld segments first, until
 * under the low-water mark. Every batch leaves the index and enters media_purges in one
 * statement; files are unlinked after, then their queue rows go (see 008_workers.sql).
 */
export async function runRetention(deps: Deps, o: RunOptions): Promise<RetentionReport> {
  const started = Date.now();
  const { pool, config } = deps.platform;
  const repo = createRetentionRepository(pool);
  const report: RetentionReport = {
    trigger: o.trigger,
    expired: { segments: { files: 0, bytes: 0 }, snapshots: { files: 0, bytes: 0 }, exports: { files: 0, bytes: 0 } },
    highWater: [], repaired: 0, keptHeld: 0, deferred: 0, oldest: [], durationMs: 0,
  };
  const purge = createPurger(deps, o.log);
  const lockClient = await pool.connect();
  try {
    if (!(await repo.tryLock(lockClient))) {
      o.log.warn('another retention run is in progress: this one deletes nothing');
      report.durationMs = Date.now() - started;
      return report;
    }
    const stopIfAsked = () => { if (o.signal?.aborted) throw new Error('retention run stopped by shutdown'); };

    // 1. What a previous run or a crash left queued.
    await o.progress?.({ stage: 'repair' });
    for (let afterId = 0; ;) {
      stopIfAsked();
      const rows = await repo.queued(REMOVE_CHUNK, afterId);
      if (rows.length === 0) break;
      await purge.submit(rows);
      afterId = rows.at(-1)!.id;
    }
    const repaired = await purge.flush();
    report.repaired = repaired.done;
    report.deferred += repaired.deferred;

    // 2. Past their period.
    await o.progress?.({ stage: 'expired' });
    const now = new Date();
    const batch = config.retention.batchSize;
    for (const device of await repo.devicesWithExpired(now)) {
      const cutoff = cutoffOf(now, device.retentionDays);
      for (let after: Date | null = null; ;) {
        stopIfAsked();
        const b = await repo.expireSegments(device.id, cutoff, after, batch);
        if (b.taken === 0) break;
        report.expired.segments.files += b.taken;
        report.expired.segments.bytes += b.bytes;
        await purge.submit(b.queued);
        after = b.last;
        if (b.taken < batch) break;
      }
      report.keptHeld += await repo.countExpired(device.id, cutoff);
      for (;;) {
        stopIfAsked();
        const b = await repo.expireSnapshots(device.id, cutoff, batch);
        if (b.taken === 0) break;
        report.expired.snapshots.files += b.taken;
        report.expired.snapshots.bytes += b.bytes;
        await purge.submit(b.queued);
      }
    }
    const exportCutoff = cutoffOf(now, config.evidence.exportRetentionDays);
    for (;;) {
      stopIfAsked();
      // The row turns 'expired' and its holds are released in one transaction: footage an
      // expired package held is never kept forever by a crash in between.
      const b = await withTransaction(pool, async (tx) => {
        const gone = await repo.expireExports(tx, exportCutoff, batch);
        const holds = createHoldRepository(tx);
        // An open incident's exports keep holding its footage after their package goes (issue 9).
        const kept = await repo.heldByOpenIncident(tx, gone.ids);
        for (const id of gone.ids) if (!kept.has(id)) await holds.release('export', id);
        return gone;
      });
      if (b.ids.length === 0) break;
      report.expired.exports.files += b.ids.length;
      report.expired.exports.bytes += b.bytes;
      await purge.submit(b.queued);
    }

    report.deferred += (await purge.flush()).deferred;

    // 3. Disks above the high-water mark.
    await o.progress?.({ stage: 'highWater' });
    for (const nodeId of await repo.liveNodes(config.gateway.leaseSeconds * 2)) {
      stopIfAsked();
      const freed = await freeNode(deps, repo, nodeId, purge, report, o, stopIfAsked);
      if (freed) report.highWater.push(freed);
    }

    report.oldest = (await repo.oldest()).map((r) => ({ deviceId: r.deviceId, oldestAt: r.oldestAt.toISOString() }));
    report.durationMs = Date.now() - started;
    o.log.info({ ...report, oldest: report.oldest.length }, 'retention run finished');
    return report;
  } finally {
    await purge.settle(); // batches still unlinking after a failure or a stop finish under the lock
    // The lock is the session's: unlock, or drop a broken connection (that ends the session and its lock).
    try {
      await repo.unlock(lockClient);
      lockClient.release();
    } catch (err) {
      lockClient.release(err as Error);
    }
  }
}

/** Free one node if it is above the high-water mark; null when it is not (or cannot be measured). */
async function freeNode(deps: Deps, repo: RetentionRepository, nodeId: string, purge: Purger, report: RetentionReport, o: RunOptions, stopIfAsked: () => void):
  Promise<RetentionReport['highWater'][number] | null> {
  const { highWaterPercent, lowWaterPercent, batchSize } = deps.platform.config.retention;
  const measure = () => deps.media.disk(nodeId).catch((err: Error) => {
    o.log.warn({ node: nodeId, err: err.message }, 'could not measure a gateway node\'s media disk');
    return null;
  });
  let disk = await measure();
  if (!disk || !aboveHighWater(disk, highWaterPercent)) return null;
  const entry = { nodeId, usedPercentBefore: disk.usedPercent, usedPercentAfter: disk.usedPercent, segments: { files: 0, bytes: 0 }, stillAbove: false };
  let after: { startsAt: Date; id: number } | null = null;
  for (let need = bytesToFree(disk, lowWaterPercent); need > 0; need = bytesToFree(disk, lowWaterPercent)) {
    stopIfAsked();
    const b = await repo.freeOldest(nodeId, need, after, batchSize);
    if (b.taken === 0) break; // only held footage is left
    entry.segments.files += b.taken;
    entry.segments.bytes += b.bytes;
    after = b.last;
    await purge.submit(b.queued);
    const r = await purge.flush();
    report.deferred += r.deferred;
    // A node that stops answering keeps its files queued; measuring again would not show them freed.
    if (r.deferred > 0) break;
    const again = await measure();
    if (!again) break;
    if (!diskFollowed(disk, again, b.bytes)) {
      o.log.warn({ node: nodeId, freedBytes: b.bytes, usedBefore: disk.usedBytes, usedAfter: again.usedBytes },
        'the media disk did not free what was deleted (something else fills it, or it frees lazily): no more footage goes from this node in this run');
      disk = again;
      break;
    }
    disk = again;
  }
  entry.usedPercentAfter = disk.usedPercent;
  entry.stillAbove = disk.usedPercent >= lowWaterPercent;
  o.log.info({ ...entry }, 'freed a gateway node\'s media disk above the high-water mark');
  return entry;
}

interface Purger {
  /** Start unlinking a batch (waits while IN_FLIGHT are under way). */
  submit(rows: readonly PurgeRow[]): Promise<void>;
  /** Wait for every batch submitted; what they did since the last flush. */
  flush(): Promise<{ done: number; deferred: number }>;
  /** Wait for what is under way, whatever happened. */
  settle(): Promise<void>;
}

/**
 * Unlink queued files and drop their queue rows. Media files go through their node (or the
 * shared directory), at most REMOVE_CHUNK per call; a node that cannot be reached keeps its
 * rows queued (deferred) and the rest goes on. Evidence files are unlinked in the store,
 * only at paths of the store's own form resolving inside it; a missing file is done.
 */
function createPurger(deps: Deps, log: Logger): Purger {
  const repo = createRetentionRepository(deps.platform.pool);
  const down = new Set<string>();

  async function media(nodeId: string, rows: readonly PurgeRow[]): Promise<{ done: number; deferred: number }> {
    // A node that failed once in this run is not called again (each call could wait out a timeout).
    if (down.has(nodeId)) return { done: 0, deferred: rows.length };
    let done = 0;
    let left = rows.length;
    for (const part of chunks(rows, REMOVE_CHUNK)) {
      try {
        // A segment indexed without a node can only be reached where the media directory is shared.
        if (nodeId === '' && !deps.media.shared) throw new Error('the segment names no gateway node');
        // A queued path the index names again (a gateway restarted after a crash re-indexed the
        // file) is footage, not garbage: its queue row goes, the file stays for retention to judge.
        const live = await repo.indexedPaths(part.map((p) => p.path));
        if (live.size > 0) {
          log.info({ node: nodeId, files: live.size }, 'queued files are in the recording index again: kept');
          await repo.dequeue(part.filter((p) => live.has(p.path)).map((p) => p.id));
          left -= live.size;
        }
        const doomed = part.filter((p) => !live.has(p.path));
        if (doomed.length === 0) continue;
        const r = await deps.media.remove(nodeId, doomed.map((p) => p.path));
        // A refused path (not of the segmenter's form) can never be deleted: say so, drop it.
        if (r.refused.length > 0) log.warn({ node: nodeId, refused: r.refused.slice(0, 20), count: r.refused.length }, 'gateway refused to delete paths of the wrong form; dropped from the purge queue');
        await repo.dequeue(doomed.map((p) => p.id));
        done += doomed.length - r.refused.length;
        left -= doomed.length;
      } catch (err) {
        down.add(nodeId);
        log.warn({ node: nodeId, files: left, err: (err as Error).message }, 'could not delete files on a gateway node: they stay queued for the next run');
        return { done, deferred: left };
      }
    }
    return { done, deferred: 0 };
  }

  async function evidenceFile(row: PurgeRow): Promise<'done' | 'deferred'> {
    if (!SNAPSHOT_PATH.test(row.path) && !EXPORT_PATH.test(row.path)) {
      log.warn({ path: row.path }, 'evidence path of an unknown form: not touched, dropped from the purge queue');
      return 'done';
    }
    const path = await deps.evidence.resolveInside(row.path);
    if (!path) return 'done'; // gone already (or a link out of the store, which is never followed)
    try {
      await unlink(path);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 'done';
      log.warn({ path: row.path, err: (err as Error).message }, 'could not delete an evidence file: it stays queued');
      return 'deferred';
    }
    if (SNAPSHOT_PATH.test(row.path)) await rmdir(dirname(path)).catch(() => {}); // an emptied day directory
    return 'done';
  }

  async function evidence(rows: readonly PurgeRow[]): Promise<{ done: number; deferred: number }> {
    const finished: number[] = [];
    let deferred = 0;
    for (const part of chunks(rows, EVIDENCE_PARALLEL)) {
      const outcomes = await Promise.all(part.map(evidenceFile));
      outcomes.forEach((o, i) => { if (o === 'done') finished.push(part[i]!.id); else deferred++; });
    }
    await repo.dequeue(finished);
    return { done: finished.length, deferred };
  }

  async function purgeNow(rows: readonly PurgeRow[]): Promise<{ done: number; deferred: number }> {
    const byNode = new Map<string, PurgeRow[]>();
    const ev: PurgeRow[] = [];
    for (const r of rows) {
      if (r.store === 'evidence') ev.push(r);
      else if (byNode.has(r.nodeId)) byNode.get(r.nodeId)!.push(r);
      else byNode.set(r.nodeId, [r]);
    }
    let done = 0;
    let deferred = 0;
    for (const [nodeId, list] of byNode) {
      const r = await media(nodeId, list);
      done += r.done;
      deferred += r.deferred;
    }
    if (ev.length > 0) {
      const r = await evidence(ev);
      done += r.done;
      deferred += r.deferred;
    }
    return { done, deferred };
  }

  // Removal is the slow half (a gateway unlinks file by file): up to IN_FLIGHT batches are
  // unlinked while the next ones leave the index. Each batch is already safe in the queue.
  const pending = new Set<Promise<void>>();
  let totals = { done: 0, deferred: 0 };
  let failure: unknown = null;
  return {
    async submit(rows) {
      if (failure) throw failure;
      while (pending.size >= IN_FLIGHT) await Promise.race(pending);
      const p: Promise<void> = purgeNow(rows)
        .then((r) => { totals.done += r.done; totals.deferred += r.deferred; })
        .catch((err: unknown) => { failure ??= err; })
        .finally(() => { pending.delete(p); });
      pending.add(p);
    },
    async flush() {
      await Promise.all(pending);
      if (failure) throw failure;
      const t = totals;
      totals = { done: 0, deferred: 0 };
      return t;
    },
    async settle() {
      await Promise.allSettled(pending);
    },
  };
}
