import { createReadStream } from 'node:fs';
import { open, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { HttpError, notFound } from '../core/http/errors.ts';
import type { GatewayClient } from '../gateway/nodes/client.ts';
import { createMediaFiles, type DiskUse } from '../gateway/recordings/media-files.ts';
import type { RecordingRepository } from '../gateway/recordings/repository.ts';

/** What a job knows of a recording segment: its index row. */
export interface SegmentRef { id: number; deviceId: string; path: string; nodeId: string | null }

/**
 * How a job reaches recording files. By default through the internal API of the gateway
 * node that recorded them (workers may run on other machines); with `workers.sharedMedia`
 * straight from the media directory (same machine or a shared volume).
 */
export interface MediaAccess {
  readonly shared: boolean;
  /** A segment's bytes. 404 when the file is gone; 503 when its node is down. */
  openSegment(seg: SegmentRef, signal?: AbortSignal): Promise<{ stream: Readable; bytes: number }>;
  /** The local path of a segment when the media directory is shared, else null (fetch it with openSegment). */
  localPath(seg: SegmentRef): string | null;
  /** Not shared: the segment's URL on its node's internal API and the authorization header (for ffmpeg to read it there, seeking by Range). */
  remote(seg: SegmentRef): Promise<{ url: string; authorization: string }>;
  /** A segment's first `bytes` bytes; null when the file is gone (404). */
  head(seg: SegmentRef, bytes: number, signal?: AbortSignal): Promise<Buffer | null>;
  /** Disk use of a node's media directory. */
  disk(nodeId: string): Promise<DiskUse>;
  /** Unlink segment files already out of the index (missing ones count as done). */
  remove(nodeId: string, paths: readonly string[]): Promise<{ deleted: number; missing: number; refused: string[] }>;
}

export function createMediaAccess(deps: {
  shared: boolean; dataDir: string; gateway: GatewayClient; recordings: RecordingRepository;
}): MediaAccess {
  const root = join(deps.dataDir, 'media');
  const local = createMediaFiles({ repo: deps.recordings, root });

  if (deps.shared) {
    return {
      shared: true,
      async openSegment(seg) {
        const path = join(root, seg.path);
        const info = await stat(path).catch(() => null);
        if (!info?.isFile()) throw notFound('segment file');
        return { stream: createReadStream(path, { highWaterMark: 1024 * 1024 }), bytes: info.size };
      },
      localPath: (seg) => join(root, seg.path),
      remote: () => Promise.reject(new Error('the media directory is shared: read segments in place')),
      async head(seg, bytes) {
        const fh = await open(join(root, seg.path), 'r').catch(() => null);
        if (!fh) return null;
        try {
          const buf = Buffer.alloc(bytes);
          const { bytesRead } = await fh.read(buf, 0, bytes, 0);
          return buf.subarray(0, bytesRead);
        } finally {
          await fh.close();
        }
      },
      disk: () => local.disk(),
      remove: (_nodeId, paths) => local.remove(paths),
    };
  }

  const segmentPath = (seg: SegmentRef) => `/internal/recordings/${seg.deviceId}/segments/${seg.id}`;
  const nodeOf = (seg: SegmentRef): string => {
    if (!seg.nodeId) throw notFound('segment file', { code: 'recording.no_node' });
    return seg.nodeId;
  };
  return {
    shared: false,
    async openSegment(seg, signal) {
      const res = await deps.gateway.rawFromNode(nodeOf(seg), segmentPath(seg), { timeoutMs: 60_000, signal });
      if (!res.body) throw notFound('segment file');
      return { stream: Readable.fromWeb(res.body as import('node:stream/web').ReadableStream), bytes: Number(res.headers.get('content-length') ?? 0) };
    },
    localPath: () => null,
    remote: (seg) => deps.gateway.endpoint(nodeOf(seg), segmentPath(seg)),
    async head(seg, bytes, signal) {
      try {
        const res = await deps.gateway.rawFromNode(nodeOf(seg), segmentPath(seg), { timeoutMs: 30_000, signal, headers: { range: `bytes=0-${bytes - 1}` } });
        return Buffer.from(await res.arrayBuffer()).subarray(0, bytes);
      } catch (err) {
        if (err instanceof HttpError && err.statusCode === 404) return null;
        throw err;
      }
    },
    disk: (nodeId) => deps.gateway.forNode<DiskUse>(nodeId, 'GET', '/internal/media/disk'),
    remove: (nodeId, paths) => deps.gateway.forNode(nodeId, 'POST', '/internal/media/delete', { paths }, 60_000),
  };
}
