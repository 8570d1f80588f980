import { Type } from 'typebox';
import fp from 'fastify-plugin';
import type { App } from '../../core/http/app.ts';
import { IdParams } from '../../core/http/schemas.ts';
import type { FrameService } from './service.ts';

/**
 * The gateway's internal frame API (service token only): one JPEG of a camera this node holds,
 * for snapshot workers and the console on any machine. The picture is the body; where it came
 * from and when it was taken are headers.
 */
export const frameInternalRoutes = fp(async (app: App, opts: { frames: FrameService }) => {
  const { frames } = opts;
  app.addHook('onClose', async () => { await frames.close(); });

  app.post('/internal/devices/:id/frame', {
    config: { access: 'service' },
    schema: {
      params: IdParams,
      body: Type.Object({ timeoutMs: Type.Optional(Type.Integer({ minimum: 500, maximum: 30_000 })) }),
    },
  }, async (req, reply) => {
    const frame = await frames.grab(req.params.id, req.body.timeoutMs);
    return reply
      .header('content-type', 'image/jpeg')
      .header('content-length', frame.jpeg.length)
      .header('cache-control', 'no-store')
      .header('x-frame-source', frame.source)
      .header('x-frame-taken-at', frame.takenAt.toISOString())
      .send(frame.jpeg);
  });

  // A past moment: the frame of a recording segment this node wrote, `offsetMs` into it. The
  // console names the segment by its indexed path (checked here to be this camera's segment file).
  app.post('/internal/devices/:id/recorded-frame', {
    config: { access: 'service' },
    schema: {
      params: IdParams,
      body: Type.Object({
        path: Type.String({ minLength: 1, maxLength: 300 }),
        offsetMs: Type.Integer({ minimum: 0, maximum: 3_600_000 }),
        timeoutMs: Type.Optional(Type.Integer({ minimum: 500, maximum: 30_000 })),
      }),
    },
  }, async (req, reply) => {
    const frame = await frames.recorded(req.params.id, req.body.path, req.body.offsetMs, req.body.timeoutMs);
    return reply
      .header('content-type', 'image/jpeg')
      .header('content-length', frame.jpeg.length)
      .header('cache-control', 'no-store')
      .header('x-frame-source', 'recording')
      .send(frame.jpeg);
  });
}, { name: 'frame-internal-routes', dependencies: ['identity-guard'] });
