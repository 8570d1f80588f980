import { Type } from 'typebox';
import fp from 'fastify-plugin';
import type { App } from '../../core/http/app.ts';
import { parseRange } from '../../core/http/range.ts';
import type { MediaFiles } from './media-files.ts';

const DiskSchema = Type.Object({ totalBytes: Type.Number(), usedBytes: Type.Number(), freeBytes: Type.Number(), usedPercent: Type.Number() });

/**
 * The gateway's internal recording-file API (service token only), for workers on other
 * machines: one segment's bytes by index id, the media disk's use, and deletion of files
 * retention has taken out of the index.
 */
export const recordingInternalRoutes = fp(async (app: App, opts: { files: MediaFiles }) => {
  const { files } = opts;

  app.get('/internal/recordings/:deviceId/segments/:segmentId', {
    config: { access: 'service' },
    schema: {
      params: Type.Object({ deviceId: Type.String({ format: 'uuid' }), segmentId: Type.String({ pattern: '^[0-9]{1,15}$' }) }),
    },
  }, async (req, reply) => {
    // Ranges: an export's ffmpeg reads segments straight from here, and seeks in them (their end's timestamps).
    let unsatisfiable = false;
    const { stream, bytes, part } = await files.segment(req.params.deviceId, Number(req.params.segmentId), (size) => {
      const r = parseRange(req.headers.range, size);
      if (r === 'unsatisfiable') { unsatisfiable = true; return { start: 0, end: 0 }; }
      return r;
    });
    reply.header('content-type', 'video/mp2t').header('accept-ranges', 'bytes');
    if (unsatisfiable) {
      stream.destroy();
      return reply.code(416).header('content-range', `bytes */${bytes}`).send({ error: 'range_not_satisfiable', message: `the segment has ${bytes} bytes` });
    }
    if (!part) return reply.header('content-length', bytes).send(stream);
    return reply.code(206).header('content-range', `bytes ${part.start}-${part.end}/${bytes}`).header('content-length', part.end - part.start + 1).send(stream);
  });

  app.get('/internal/media/disk', { config: { access: 'service' }, schema: { response: { 200: DiskSchema } } }, async () => files.disk());

  app.post('/internal/media/delete', {
    config: { access: 'service' },
    schema: {
      body: Type.Object({ paths: Type.Array(Type.String({ maxLength: 200 }), { maxItems: 10_000 }) }),
      response: { 200: Type.Object({ deleted: Type.Integer(), missing: Type.Integer(), refused: Type.Array(Type.String()) }) },
    },
  }, async (req) => files.remove(req.body.paths));
}, { name: 'recording-internal-routes', dependencies: ['identity-guard'] });
