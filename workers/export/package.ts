import { spawn } from 'node:child_process';
import { createHash, createPrivateKey } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { createRequire } from 'node:module';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { crc32 } from 'node:zlib';
import yazl from 'yazl';
import { runInThread } from '../threads.ts';
import { manifestBytes, signManifest } from './manifest.ts';
import { MANIFEST_NAME, SIGNATURE_NAME, type Manifest, type ManifestFile } from './types.ts';

/**
 * Packing an evidence package in one pass, in a worker thread (threadMain below): each
 * camera's MP4 comes from ffmpeg's stdout (workers/export/ffmpeg.ts) and each snapshot from its
 * file, through SHA-256 into the ZIP (yazl, STORE: MP4 and JPEG do not compress), whose bytes
 * are hashed on their way to disk. The manifest, which lists every file's hash, is signed and
 * added last; a ZIP is read from its central directory, so the order does not matter. The
 * footage is written once, as the package.
 */

// yazl computes each entry's CRC-32 through buffer-crc32, in JavaScript (≈ 330 MB/s on this
// project's machines, the slowest step of a package). Node's zlib.crc32 is native (≈ 3 GB/s)
// and gives the same value; yazl calls it through that module's object at run time, so
// replacing the function there speeds up every entry. `tests/unit/export-package.test.ts`
// checks the package's CRCs with an independent reader.
const yazlRequire = createRequire(createRequire(import.meta.url).resolve('yazl'));
const bufferCrc32 = yazlRequire('buffer-crc32') as { unsigned: (buf: Buffer, previous?: number | Buffer) => number };
bufferCrc32.unsigned = (buf, previous) => crc32(buf, typeof previous === 'number' ? previous : previous ? previous.readUInt32BE(0) : 0);

const FFMPEG = () => process.env.FFMPEG_PATH ?? 'ffmpeg';

export interface BuildInput {
  out: string;
  /** Each camera's MP4: ffmpeg's arguments (the MP4 on stdout). */
  videos: { name: string; args: string[] }[];
  /** Files packed as they are (snapshots). */
  files: { name: string; abs: string }[];
  /** The manifest but for its file list, which the packing fills in. */
  manifest: Omit<Manifest, 'files'>;
  /** The platform's Ed25519 private key (PKCS #8 PEM). */
  signingKeyPem: string;
}
export interface BuildOutput { bytes: number; sha256: string; manifest: Manifest }
/** Package bytes written so far. */
export interface ThreadProgress { bytes: number }

const CHUNK = 4 * 1024 * 1024;
/** Progress messages at most this often (bytes), so the thread does not flood the main loop. */
const REPORT_EVERY = 32 * 1024 * 1024;
// A fixed time for every entry: the package's bytes depend on its content only.
const ENTRY = { compress: false, mtime: new Date('2000-01-01T00:00:00Z'), mode: 0o100644 } as const;

/** A pass-through that hashes and counts; `done` (if given) must resolve before it ends. */
function hasher(done?: Promise<void>) {
  const hash = createHash('sha256');
  let bytes = 0;
  const stream = new Transform({
    highWaterMark: CHUNK,
    transform(chunk: Buffer, _enc, cb) { hash.update(chunk); bytes += chunk.length; cb(null, chunk); },
    flush(cb) { (done ?? Promise.resolve()).then(() => cb(), cb); },
  });
  return { stream, result: () => ({ bytes, sha256: hash.digest('hex') }) };
}

/** ffmpeg writing an MP4 on its stdout; the promise rejects with its last stderr lines unless it exits 0. */
function ffmpegOut(args: string[]): { stdout: Readable; exited: Promise<void> } {
  const child = spawn(FFMPEG(), args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let tail = '';
  child.stderr.on('data', (c: Buffer) => { tail = (tail + c.toString()).slice(-2000); });
  const exited = new Promise<void>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => (code === 0 ? resolve() : reject(new Error(`ffmpeg exited ${code ?? signal}: ${tail.trim().split('\n').slice(-3).join(' | ')}`))));
  });
  return { stdout: child.stdout, exited };
}

async function build(input: BuildInput, post: (p: ThreadProgress) => void): Promise<BuildOutput> {
  const zip = new yazl.ZipFile();
  const whole = hasher();
  let written = 0;
  let reported = 0;
  const tap = new Transform({
    highWaterMark: CHUNK,
    transform(chunk: Buffer, _enc, cb) {
      written += chunk.length;
      if (written - reported >= REPORT_EVERY) { reported = written; post({ bytes: written }); }
      cb(null, chunk);
    },
  });
  const out = pipeline(zip.outputStream, whole.stream, tap, createWriteStream(input.out, { mode: 0o640 }));
  // A failure below destroys the output; the pipeline's own rejection is then expected.
  out.catch(() => {});

  /** One entry, whole: resolves once its source ended cleanly and yazl has taken every byte. */
  const add = (name: string, source: Readable, done?: Promise<void>): Promise<ManifestFile> => {
    const h = hasher(done);
    const finished = new Promise<ManifestFile>((resolve, reject) => {
      h.stream.on('error', reject);
      source.on('error', reject);
      done?.catch(reject);
      h.stream.on('end', () => resolve({ path: name, ...h.result() }));
    });
    source.pipe(h.stream);
    zip.addReadStream(h.stream, name, ENTRY);
    return finished;
  };

  try {
    const files: ManifestFile[] = [];
    for (const v of input.videos) {
      const cut = ffmpegOut(v.args);
      files.push(await add(v.name, cut.stdout, cut.exited));
    }
    for (const f of input.files) files.push(await add(f.name, createReadStream(f.abs, { highWaterMark: CHUNK })));
    const manifest: Manifest = { ...input.manifest, files };
    const bytes = manifestBytes(manifest);
    zip.addBuffer(bytes, MANIFEST_NAME, ENTRY);
    zip.addBuffer(signManifest(createPrivateKey(input.signingKeyPem), bytes), SIGNATURE_NAME, ENTRY);
    zip.end();
    await out;
    const { sha256 } = whole.result();
    return { bytes: written, sha256, manifest };
  } catch (err) {
    (zip.outputStream as Readable).destroy(err as Error);
    throw err;
  }
}

/** The thread's entry (workers/thread-boot.mjs calls it). */
export async function threadMain(input: BuildInput, post: (p: ThreadProgress) => void): Promise<BuildOutput> {
  return build(input, post);
}

const SELF = new URL(import.meta.url);

export const buildInThread = (input: BuildInput, o: { signal?: AbortSignal; onProgress?: (p: ThreadProgress) => void }) =>
  runInThread<BuildInput, BuildOutput, ThreadProgress>(SELF, input, o);
