import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';

const BOOT = fileURLToPath(new URL('./thread-boot.mjs', import.meta.url));

export class ThreadError extends Error {
  constructor(message: string, readonly code: string | null) { super(message); this.name = 'ThreadError'; }
}

/**
 * Run CPU-heavy work (hashing gigabytes, ZIP CRC32) in a worker thread, so the job's event
 * loop keeps renewing its BullMQ lock and answering. `entry` is a module URL exporting
 * `threadMain(input, post)`; `post(p)` calls arrive as `onProgress(p)`. Aborting `signal`
 * terminates the thread (the caller cleans up what it had written).
 */
export function runInThread<I, R, P = unknown>(entry: URL, input: I, o: { signal?: AbortSignal; onProgress?: (p: P) => void } = {}): Promise<R> {
  return new Promise<R>((resolve, reject) => {
    if (o.signal?.aborted) return reject(o.signal.reason ?? new Error('aborted'));
    const worker = new Worker(BOOT, { workerData: { __entry: entry.href, input } });
    let settled = false;
    const done = (fn: () => void) => {
      if (settled) return;
      settled = true;
      o.signal?.removeEventListener('abort', onAbort);
      fn();
      void worker.terminate();
    };
    const onAbort = () => done(() => reject(o.signal!.reason ?? new Error('aborted')));
    o.signal?.addEventListener('abort', onAbort, { once: true });
    worker.on('message', (m: { progress?: P; result?: R; error?: { message: string; code: string | null } }) => {
      if (m.progress !== undefined) o.onProgress?.(m.progress);
      else if (m.error) done(() => reject(new ThreadError(m.error!.message, m.error!.code)));
      else done(() => resolve(m.result as R));
    });
    worker.on('error', (err) => done(() => reject(err)));
    worker.on('exit', (code) => done(() => reject(new ThreadError(`the worker thread exited (${code}) before answering`, null))));
  });
}
