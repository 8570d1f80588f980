import { readFile } from 'node:fs/promises';
import { verifyPackage } from './verify.ts';

const USAGE = 'usage: skynet verify FILE.zip [--key PUBLIC.pem]\n';

/**
 * `skynet verify FILE.zip [--key PUBLIC.pem]`: offline, no configuration. Exit 0 when the
 * signature and every file check out, 1 when anything fails, 2 when the package (or the key)
 * cannot be read or the arguments are wrong. Says plainly what passed and what did not.
 */
export async function runVerifyCommand(args: string[], io: { out: NodeJS.WritableStream; err: NodeJS.WritableStream }): Promise<number> {
  const files: string[] = [];
  let keyPath: string | undefined;
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === '--key') {
      keyPath = args[++i];
      if (!keyPath) { io.err.write(`skynet verify: --key needs a file\n${USAGE}`); return 2; }
    } else if (a.startsWith('--key=')) keyPath = a.slice(6);
    else if (a.startsWith('-')) { io.err.write(`skynet verify: unknown option ${a}\n${USAGE}`); return 2; }
    else files.push(a);
  }
  if (files.length !== 1) { io.err.write(USAGE); return 2; }
  const [file] = files as [string];

  let publicKeyPem: string | undefined;
  if (keyPath) {
    try { publicKeyPem = await readFile(keyPath, 'utf8'); } catch (err) {
      io.err.write(`FAILED: cannot read the key ${keyPath} (${(err as NodeJS.ErrnoException).code ?? 'error'})\n`);
      return 2;
    }
  }
  const v = await verifyPackage(file, { publicKeyPem }).catch((err: unknown) => ({ unreadable: String((err as Error)?.message ?? err).split('\n')[0] }));
  if ('unreadable' in v && v.unreadable) {
    io.err.write(`FAILED: ${file}: ${v.unreadable}\n`);
    return 2;
  }
  const verdict = v as Awaited<ReturnType<typeof verifyPackage>>;
  const out = (s: string) => io.out.write(`${s}\n`);
  out(`package: ${file}`);
  if (verdict.manifest) out(`export ${verdict.manifest.exportId}, case ${verdict.manifest.caseNumber}, by ${verdict.manifest.requestedBy.name}, built ${verdict.manifest.builtAt}`);
  if (verdict.keySource === 'given') out(`key: the one given (${keyPath}), fingerprint ${verdict.fingerprint}`);
  else {
    out(`key: the one embedded in the package, fingerprint ${verdict.fingerprint ?? 'unreadable'}`);
    out('      note: an embedded key only proves the package is intact; compare the fingerprint with the platform\'s');
    out('      published key (GET /api/evidence/public-key) or pass it with --key to prove where it came from');
  }
  out(`signature: ${verdict.signatureOk ? 'valid' : 'INVALID'}`);
  for (const f of verdict.files) out(`  ${f.ok ? 'ok    ' : 'FAILED'} ${f.path}${f.problem ? `: ${f.problem}` : ''}`);
  const failed = verdict.files.filter((f) => !f.ok);
  if (verdict.ok) out(`VERIFIED: signature valid and all ${verdict.files.length - 1} files match the manifest`);
  else out(`FAILED: ${failed.length} of ${verdict.files.length} checks failed: ${failed.map((f) => f.path).join(', ')}`);
  return verdict.ok ? 0 : 1;
}
