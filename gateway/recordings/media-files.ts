import { createReadStream, type ReadStream } from 'node:fs';
import { mkdir, realpath, rmdir, stat, statfs, unlink } from 'node:fs/promises';
import { dirname, resolve, sep } from 'node:path';
import { notFound } from '../../core/http/errors.ts';
import type { RecordingRepository } from './repository.ts';

/** A recording segment's path relative to the media root, as the segmenter names it (layout.ts). */
export const SEGMENT_PATH = /^rec\/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\/\d{8}\/\d{8}T\d{6}Z\.ts$/;

export interface DiskUse { totalBytes: number; usedBytes: number; freeBytes: number; usedPercent: number }

/** Use of the file system holding `dir`, as df counts it (used = total − free; percent of what an unprivileged writer can use). */
export async function diskUse(dir: string): Promise<DiskUse> {
  const s = await statfs(dir);
  const total = Number(s.blocks) * Number(s.bsize);
  const free = Number(s.bfree) * Number(s.bsize);
  const avail = Number(s.bavail) * Number(s.bsize);
  const used = total - free;
  return { totalBytes: total, usedBytes: used, freeBytes: avail, usedPercent: used + avail > 0 ? (100 * used) / (used + avail) : 0 };
}

/**
 * Recording files for other processes (workers) that do not share the gateway's disk:
 * read one segment by its index id, the disk's use, and deletion of segment files that
 * retention has already taken out of the index. Paths come from the index or must have
 * the segmenter's exact form, and resolve (symlinks included) under the media root.
 */
export function createMediaFiles(deps: { repo: RecordingRepository; root: string }) {
  async function inside(rel: string): Promise<string | null> {
    const root = await realpath(deps.root).catch(() => null);
    if (!root) return null;
    const path = await realpath(resolve(root, rel)).catch(() => null);
    return path && path.startsWith(root + sep) ? path : null;
  }

  return {
    /** A segment file's bytes, or the part `range(size)` picks (an HTTP Range); `bytes` is the file's size. */
    async segment(deviceId: string, id: number, range?: (size: number) => { start: number; end: number } | null): Promise<{ stream: ReadStream; bytes: number; part: { start: number; end: number } | null }> {
      const segment = await deps.repo.segmentById(deviceId, id);
      if (!segment) throw notFound('segment');
      const path = await inside(segment.path);
      const info = path ? await stat(path).catch(() => null) : null;
      if (!path || !info?.isFile()) throw notFound('segment file');
      const part = range?.(info.size) ?? null;
      return { stream: createReadStream(path, { highWaterMark: 1024 * 1024, ...(part ?? {}) }), bytes: info.size, part };
    },

    async disk(): Promise<DiskUse> {
      await mkdir(deps.root, { recursive: true });
      return diskUse(deps.root);
    },

    /**
     * Unlink segment files (already out of the index). A missing file counts as done; a
     * path of the wrong form is refused, not touched. Emptied day directories go too.
     */
    async remove(paths: readonly string[]): Promise<{ deleted: number; missing: number; refused: string[] }> {
      let deleted = 0;
      let missing = 0;
      const refused: string[] = [];
      const dirs = new Set<string>();
      for (const rel of paths) {
        if (!SEGMENT_PATH.test(rel)) { refused.push(rel); continue; }
        const path = await inside(rel);
        if (!path) { missing++; continue; }
        try {
          await unlink(path);
          deleted++;
          dirs.add(dirname(path));
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code === 'ENOENT') missing++;
          else throw err;
        }
      }
      for (const dir of dirs) await rmdir(dir).catch(() => {});
      return { deleted, missing, refused };
    },
  };
}

export type MediaFiles = ReturnType<typeof createMediaFiles>;
