import { LogController, type FastifyReply, type FastifyRequest } from 'fastify';

/**
 * Fastify's own per-request lines at `debug`: at `info` (Fastify's default) two lines per
 * request — HLS players ask every second — bury everything a person or an operator needs.
 * A request that failed on the way out stays an error. Set SKYNET_LOG_LEVEL=debug to see
 * every request (URLs pass through core/log.ts's serializer, which scrubs tokens).
 */
export class RequestLog extends LogController {
  override incomingRequest(request: FastifyRequest): void {
    request.log.debug({ req: request }, 'incoming request');
  }

  override requestCompleted(error: Error | null | undefined, request: FastifyRequest, reply: FastifyReply): void {
    if (error) reply.log.error({ res: reply, err: error, responseTime: reply.elapsedTime }, 'request errored');
    else reply.log.debug({ res: reply, responseTime: Math.round(reply.elapsedTime) }, 'request completed');
  }

  override routeNotFound(request: FastifyRequest): void {
    request.log.debug({ req: request }, `route ${request.method}:${request.url.split('?')[0]} not found`);
  }
}
