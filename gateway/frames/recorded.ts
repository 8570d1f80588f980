import { realpath, stat } from 'node:fs/promises';
import { resolve, sep } from 'node:path';
import { badRequest, notFound } from '../../core/http/errors.ts';
import { SEGMENT_PATH } from '../recordings/media-files.ts';
import { frameFromRecording, GrabError } from './grab.ts';
import { jpegInfo } from './jpeg.ts';

/** A picture out of a recording: the frame of one segment file at an offset into it. */
export interface RecordedFrame { jpeg: Buffer; width: number; height: number }

/** Where a recording segment's path (from the index) may point: the segmenter's exact form, under this camera's folder. */
export function segmentPathAllowed(deviceId: string, path: string): boolean {
  return SEGMENT_PATH.test(path) && path.startsWith(`rec/${deviceId}/`);
}

/**
 * Frames from recordings on this node (gateway process), for snapshots of a past moment. The console
 * names the segment by the path the recordings index holds; it must have the segmenter's exact form
 * for this camera and resolve (symlinks included) to a file under the media root, or nothing opens.
 * ffmpeg reads it with `-protocol_whitelist file`, an argument array, killed at the deadline.
 */
export function createRecordedFrames(deps: { root: string; tmpDir: string }) {
  async function inside(rel: string): Promise<string | null> {
    const root = await realpath(deps.root).catch(() => null);
    if (!root) return null;
    const path = await realpath(resolve(root, rel)).catch(() => null);
    return path && path.startsWith(root + sep) ? path : null;
  }

  return {
    async grab(deviceId: string, segmentPath: string, offsetMs: number, timeoutMs: number): Promise<RecordedFrame> {
      if (!segmentPathAllowed(deviceId, segmentPath)) throw badRequest('not a recording segment of this camera', { field: 'path', code: 'recorded_frame.bad_path' });
      const path = await inside(segmentPath);
      const info = path ? await stat(path).catch(() => null) : null;
      if (!path || !info?.isFile()) throw notFound('recording file', { code: 'recorded_frame.file_missing' });
      let jpeg: Buffer;
      try {
        jpeg = await frameFromRecording(path, offsetMs / 1000, { tmpDir: deps.tmpDir, deadline: Date.now() + timeoutMs });
      } catch (err) {
        if (!(err instanceof GrabError)) throw err;
        throw notFound('frame in the recording', { code: 'recorded_frame.no_frame', params: { reason: err.message.slice(0, 200) } });
      }
      return { jpeg, ...jpegInfo(jpeg)! };
    },
  };
}

export type RecordedFrames = ReturnType<typeof createRecordedFrames>;
