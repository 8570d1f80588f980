import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { apiErrorsEn, apiErrorsZhCN } from '../../console/web/src/i18n/api-errors/index.ts';

/** Every `code: '…'` an HttpError is thrown with in server code. */
function serverCodes(): Map<string, string> {
  const found = new Map<string, string>();
  const walk = (dir: string) => {
    for (const name of readdirSync(dir)) {
      const path = join(dir, name);
      if (name === 'node_modules' || name === 'web' || name === 'simulator') continue;
      if (statSync(path).isDirectory()) walk(path);
      else if (name.endsWith('.ts')) {
        for (const m of readFileSync(path, 'utf8').matchAll(/\bcode: '([a-z][a-z0-9_]+(?:\.[a-z][a-zA-Z0-9_]*)+)'/g)) found.set(m[1]!, path);
      }
    }
  };
  for (const top of ['core', 'gateway', 'console', 'workers']) walk(top);
  return found;
}

const lookup = (catalogue: Record<string, unknown>, code: string): unknown =>
  code.split('.').reduce<unknown>((node, key) => (node && typeof node === 'object' ? (node as Record<string, unknown>)[key] : undefined), catalogue);

describe('server error codes', () => {
  const codes = serverCodes();

  it('finds the codes the server throws', () => {
    expect(codes.has('request.invalid_utf8')).toBe(true);
  });

  it.each([['zh-CN', apiErrorsZhCN], ['en', apiErrorsEn]] as const)('each has a %s wording in the web app', (_locale, catalogue) => {
    const missing = [...codes].filter(([code]) => typeof lookup(catalogue, code) !== 'string').map(([code, file]) => `${code} (${file})`);
    expect(missing).toEqual([]);
  });
});
