#!/usr/bin/env node
// The `skynet` command: TypeScript sources run through tsx's loader (no build step).
import { register } from 'tsx/esm/api';

register();
if (process.argv[2] === 'verify') {
  // Offline and quick: checking an evidence package loads neither the platform nor its
  // configuration, database or network (a court clerk's laptop has none of them).
  const { runVerifyCommand } = await import('../workers/export/verify-cli.ts');
  process.exitCode = await runVerifyCommand(process.argv.slice(3), { out: process.stdout, err: process.stderr });
} else {
  await import('./skynet.ts');
}
