import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import yazl from 'yazl';
import { runInThread } from '../threads.ts';
import type { ManifestFile } from './types.ts';

/**
 * The package's CPU-heavy steps, run in a worker thread (threadMain below): SHA-256 of every
 * file, and the ZIP (yazl, STORE: MP4 and JPEG do not compress; yazl's CRC32 is computed in
 * JavaScript, which is why the whole packing stays off the job's event loop).
 */

export interface HashInput { op: 'hash'; files: { abs: string; path: string }[] }
export interface PackInput { op: 'pack'; out: string; entries: { abs: string; name: string }[] }
export type ThreadInput = HashInput | PackInput;
/** Bytes read (hash) or written (pack) so far in this step. */
export interface ThreadProgress { bytes: number }

const CHUNK = 4 * 1024 * 1024;
/** Progress messages at most this often (bytes), so the thread does not flood the main loop. */
const REPORT_EVERY = 32 * 1024 * 1024;

function counter(post: (p: ThreadProgress) => void, base = { bytes: 0 }) {
  let reported = 0;
  return (n: number) => {
    base.bytes += n;
    if (base.bytes - reported >= REPORT_EVERY) { reported = base.bytes; post({ bytes: base.bytes }); }
  };
}

async function hashFiles(input: HashInput, post: (p: ThreadProgress) => void): Promise<ManifestFile[]> {
  const count = counter(post);
  const out: ManifestFile[] = [];
  for (const f of input.files) {
    const hash = createHash('sha256');
    let bytes = 0;
    for await (const chunk of createReadStream(f.abs, { highWaterMark: CHUNK }) as AsyncIterable<Buffer>) {
      hash.update(chunk);
      bytes += chunk.length;
      count(chunk.length);
    }
    out.push({ path: f.path, bytes, sha256: hash.digest('hex') });
  }
  return out;
}

async function pack(input: PackInput, post: (p: ThreadProgress) => void): Promise<{ bytes: number; sha256: string }> {
  const zip = new yazl.ZipFile();
  // A fixed time for every entry: the package's bytes depend on its content only.
  const mtime = new Date('2000-01-01T00:00:00Z');
  for (const e of input.entries) zip.addReadStream(createReadStream(e.abs, { highWaterMark: CHUNK }), e.name, { compress: false, mtime, mode: 0o100644 });
  zip.end();
  const hash = createHash('sha256');
  const count = counter(post);
  let bytes = 0;
  const tap = new Transform({
    transform(chunk: Buffer, _enc, cb) { hash.update(chunk); bytes += chunk.length; count(chunk.length); cb(null, chunk); },
  });
  await pipeline(zip.outputStream, tap, createWriteStream(input.out, { mode: 0o640 }));
  return { bytes, sha256: hash.digest('hex') };
}

/** The thread's entry (workers/thread-boot.mjs calls it). */
export async function threadMain(input: ThreadInput, post: (p: ThreadProgress) => void): Promise<unknown> {
  return input.op === 'hash' ? hashFiles(input, post) : pack(input, post);
}

const SELF = new URL(import.meta.url);
type Opts = { signal?: AbortSignal; onProgress?: (p: ThreadProgress) => void };

export const hashInThread = (files: HashInput['files'], o: Opts) => runInThread<ThreadInput, ManifestFile[], ThreadProgress>(SELF, { op: 'hash', files }, o);
export const packInThread = (out: string, entries: PackInput['entries'], o: Opts) => runInThread<ThreadInput, { bytes: number; sha256: string }, ThreadProgress>(SELF, { op: 'pack', out, entries }, o);
