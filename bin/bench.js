#!/usr/bin/env node
// npm run bench -- SUITE: runs tests/bench/SUITE.ts, prints a table, writes bench-results/SUITE.json.
import { register } from 'tsx/esm/api';

register();
const { runBench } = await import('../tests/bench/run.ts');
await runBench(process.argv.slice(2));
