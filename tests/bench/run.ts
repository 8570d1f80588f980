import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface BenchResult {
  /** Flat metrics, named as the issue names them. */
  metrics: Record<string, number>;
  /** Targets per metric: `<=` or `>=` a number. */
  targets: Record<string, { op: '<=' | '>='; value: number }>;
  notes: string[];
}

const HERE = dirname(fileURLToPath(import.meta.url));

export async function runBench(args: string[]): Promise<void> {
  const suites = readdirSync(HERE).filter((f) => f.endsWith('.bench.ts')).map((f) => f.replace('.bench.ts', ''));
  const suite = args[0];
  if (!suite || !suites.includes(suite)) {
    process.stderr.write(`usage: npm run bench -- SUITE   (one of: ${suites.join(', ')})\n`);
    process.exit(2);
  }
  const mod = (await import(join(HERE, `${suite}.bench.ts`))) as { run: () => Promise<BenchResult> };
  const started = Date.now();
  const result = await mod.run();
  const machine = `${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, ${Math.round(totalmem() / 2 ** 30)} GiB, node ${process.version}`;
  const rows = Object.entries(result.metrics).map(([name, value]) => {
    const t = result.targets[name];
    const met = t ? (t.op === '<=' ? value <= t.value : value >= t.value) : undefined;
    return { metric: name, value: Number(value.toFixed(3)), target: t ? `${t.op} ${t.value}` : '', met: met === undefined ? '' : met ? 'met' : 'MISSED' };
  });
  console.log(`\n${suite} benchmark — ${machine} — ${((Date.now() - started) / 1000).toFixed(1)} s`);
  console.table(rows);
  for (const n of result.notes) console.log(`- ${n}`);
  const out = join(process.cwd(), 'bench-results');
  mkdirSync(out, { recursive: true });
  writeFileSync(join(out, `${suite}.json`), JSON.stringify(result.metrics, null, 2) + '\n');
  console.log(`wrote bench-results/${suite}.json`);
  process.exit(0);
}
