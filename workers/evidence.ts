import { mkdir, realpath, rename, writeFile } from 'node:fs/promises';
import { dirname, join, resolve, sep } from 'node:path';
import { randomBytes } from 'node:crypto';
import type { Config } from '../config/schema.ts';

/** The evidence store's relative paths: ids we generated and UTC dates, never request text. */
export const SNAPSHOT_PATH = /^snapshots\/[0-9a-f-]{36}\/\d{8}\/[0-9a-f-]{36}\.jpg$/;
export const EXPORT_PATH = /^exports\/[0-9a-f-]{36}\.zip$/;

const ymd = (d: Date) => d.toISOString().slice(0, 10).replaceAll('-', '');

/**
 * The evidence store (`evidence.dir`, default <dataDir>/evidence): snapshots and export
 * packages, which the console serves and retention deletes. Console and workers both reach
 * it (one machine, or a shared volume in a multi-machine deployment).
 *
 *   snapshots/<deviceId>/<YYYYMMDD>/<snapshotId>.jpg
 *   exports/<exportId>.zip
 *   tmp/                     work files; a file is renamed into place only when complete
 */
export function evidenceStore(config: Pick<Config, 'dataDir' | 'evidence'>) {
  const root = resolve(config.evidence.dir ?? join(config.dataDir, 'evidence'));
  return {
    root,
    tmp: join(root, 'tmp'),
    snapshotPath: (deviceId: string, takenAt: Date, id: string) => `snapshots/${deviceId}/${ymd(takenAt)}/${id}.jpg`,
    exportPath: (id: string) => `exports/${id}.zip`,
    abs: (rel: string) => join(root, rel),

    /** The absolute path of a stored file, only if it resolves (symlinks too) inside the store. */
    async resolveInside(rel: string): Promise<string | null> {
      const base = await realpath(root).catch(() => null);
      const path = base ? await realpath(join(base, rel)).catch(() => null) : null;
      return base && path && path.startsWith(base + sep) ? path : null;
    },

    /** Write a whole file atomically: to tmp/, then renamed into place. */
    async put(rel: string, data: Buffer): Promise<void> {
      const dest = join(root, rel);
      await mkdir(dirname(dest), { recursive: true });
      await mkdir(join(root, 'tmp'), { recursive: true });
      const tmp = join(root, 'tmp', `${randomBytes(8).toString('hex')}.part`);
      await writeFile(tmp, data, { mode: 0o640 });
      await rename(tmp, dest);
    },
  };
}

export type EvidenceStore = ReturnType<typeof evidenceStore>;
