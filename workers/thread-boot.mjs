// Runs a TypeScript module in a worker thread: tsx's loader, then the module named in
// workerData.__entry, whose `threadMain(input, post)` does the work (see threads.ts).
import { register } from 'tsx/esm/api';
import { parentPort, workerData } from 'node:worker_threads';

register();
try {
  const mod = await import(workerData.__entry);
  const result = await mod.threadMain(workerData.input, (progress) => parentPort.postMessage({ progress }));
  parentPort.postMessage({ result });
} catch (err) {
  parentPort.postMessage({ error: { message: String(err?.message ?? err), code: err?.code ?? null } });
}
