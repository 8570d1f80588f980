import { mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import semver from 'semver';
import { describe, expect, it } from 'vitest';

// package.json's `engines` is a promise to whoever installs Skynet: every package
// in the installed tree (direct and transitive) must run on each Node version that
// range names, and on the Node of the Docker image.

/** The lowest version of each alternative of a range: `^20.19.0 || >=22.12.0` → 20.19.0, 22.12.0. */
export function namedVersions(range: string): string[] {
  return new semver.Range(range).set.map((comparators) => {
    const min = semver.minVersion(new semver.Range(comparators.map((c) => c.value).join(' ')));
    if (!min) throw new Error(`engines range ${range} admits no version`);
    return min.version;
  });
}

/** Every installed package (node_modules, scoped and nested) whose engines.node refuses one of `versions`. */
export function enginesViolations(root: string, versions: string[]): string[] {
  const found: string[] = [];
  const walk = (dir: string): void => {
    let entries;
    try { entries = readdirSync(dir, { withFileTypes: true }); } catch { return; }
    for (const entry of entries) {
      if (entry.name.startsWith('.') || !(entry.isDirectory() || entry.isSymbolicLink())) continue;
      const path = join(dir, entry.name);
      if (entry.name.startsWith('@')) { walk(path); continue; }
      let pkg: { name?: string; version?: string; engines?: { node?: unknown } } | undefined;
      try { pkg = JSON.parse(readFileSync(join(path, 'package.json'), 'utf8')); } catch { pkg = undefined; }
      const wanted = pkg?.engines?.node;
      if (typeof wanted === 'string' && semver.validRange(wanted)) {
        for (const v of versions) {
          if (!semver.satisfies(v, wanted)) found.push(`${relative(root, path)}@${pkg?.version} engines.node "${wanted}" refuses Node ${v}`);
        }
      }
      walk(join(path, 'node_modules'));
    }
  };
  walk(join(root, 'node_modules'));
  return found;
}

const ours: string = JSON.parse(readFileSync('package.json', 'utf8')).engines.node;
const imageMajor = /^FROM node:(\d+)-bookworm-slim$/m.exec(readFileSync('docker/Dockerfile', 'utf8'))?.[1];

describe('engines', () => {
  it('names the Node versions we support, the one running here and the Docker image\'s LTS', () => {
    expect(namedVersions(ours)).toEqual(['20.19.0', '22.12.0']);
    expect(semver.satisfies(process.versions.node, ours)).toBe(true);
    expect(imageMajor).toBeDefined();
    // even-numbered releases become LTS in October: on 2026-12-02 that is Node 26
    expect(Number(imageMajor)).toBeGreaterThanOrEqual(26);
    expect(semver.satisfies(`${imageMajor}.0.0`, ours)).toBe(true);
  });

  it('finds a package that refuses a named version (the check can fail)', () => {
    const root = mkdtempSync(join(tmpdir(), 'skynet-engines-'));
    const add = (dir: string, name: string, node?: string) => {
      mkdirSync(join(root, dir), { recursive: true });
      writeFileSync(join(root, dir, 'package.json'), JSON.stringify({ name, version: '1.0.0', ...(node ? { engines: { node } } : {}) }));
    };
    add('node_modules/fine', 'fine', '>=18');
    add('node_modules/loose', 'loose');
    add('node_modules/@scope/new', '@scope/new', '>=22');
    add('node_modules/fine/node_modules/deep', 'deep', '^22.22.2 || >=24.15.0');
    expect(enginesViolations(root, ['20.19.0', '26.0.0']).sort()).toEqual([
      'node_modules/@scope/new@1.0.0 engines.node ">=22" refuses Node 20.19.0',
      'node_modules/fine/node_modules/deep@1.0.0 engines.node "^22.22.2 || >=24.15.0" refuses Node 20.19.0',
    ]);
  });

  it('every installed package runs on every Node version our engines and the image name', () => {
    const versions = [...namedVersions(ours), `${imageMajor}.0.0`];
    expect(enginesViolations(process.cwd(), versions)).toEqual([]);
  });
});
