import { mkdir, statfs } from 'node:fs/promises';

/** Free space, in MB, on the file system holding `dir` (created when missing), as an unprivileged process sees it. */
export async function freeSpaceMb(dir: string): Promise<number> {
  await mkdir(dir, { recursive: true });
  const s = await statfs(dir);
  return (Number(s.bavail) * Number(s.bsize)) / (1024 * 1024);
}
