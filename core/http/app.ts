import Fastify, { type FastifyInstance, type FastifyError, type FastifyServerOptions } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import addFormats from 'ajv-formats';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { Logger } from 'pino';
import { HttpError } from './errors.ts';

export type App = FastifyInstance<any, any, any, Logger, TypeBoxTypeProvider>;

export interface AppOptions {
  logger: Logger;
  title: string;
  /** Serve OpenAPI JSON at /docs/json and the UI at /docs. */
  openapi?: boolean;
  bodyLimit?: number;
  trustProxy?: boolean;
}

/**
 * The Fastify app every process starts from: TypeBox validation with unknown
 * properties removed, one error shape, 5xx messages hidden and logged with the
 * request id, OpenAPI generated from the route schemas.
 */
export async function createApp(options: AppOptions): Promise<App> {
  const app = Fastify({
    loggerInstance: options.logger as FastifyServerOptions['loggerInstance'],
    bodyLimit: options.bodyLimit ?? 1024 * 1024,
    trustProxy: options.trustProxy ?? false,
    // Closing must not wait on a slow or stalled client (a player that stopped reading a
    // segment): shutdown is bounded, so open connections are cut when the app closes.
    forceCloseConnections: true,
    ajv: {
      customOptions: { removeAdditional: 'all', coerceTypes: 'array', useDefaults: true, allErrors: false },
      plugins: [addFormats as never],
    },
  }).withTypeProvider<TypeBoxTypeProvider>() as unknown as App;

  app.setErrorHandler((err: FastifyError | HttpError, request, reply) => {
    if (err instanceof HttpError) {
      if (err.statusCode >= 500) request.log.warn({ err }, err.message);
      return reply.code(err.statusCode).send({ error: err.error, message: err.message, ...(err.field ? { field: err.field } : {}) });
    }
    const fe = err as FastifyError;
    if (fe.validation) {
      const first = fe.validation[0];
      const missing = (first?.params as { missingProperty?: string } | undefined)?.missingProperty;
      const path = (first?.instancePath ?? '').split('/').filter(Boolean);
      const field = missing ?? (path.length ? path.join('.') : undefined);
      const message = `${fe.validationContext ?? 'request'}${field ? `.${field}` : ''} ${first?.message ?? 'is invalid'}`;
      return reply.code(400).send({ error: 'bad_request', message, ...(field ? { field } : {}) });
    }
    const status = fe.statusCode && fe.statusCode >= 400 ? fe.statusCode : 500;
    if (status >= 500) {
      request.log.error({ err }, 'request failed');
      return reply.code(status).send({ error: 'internal', message: `Internal error (request ${request.id})` });
    }
    return reply.code(status).send({ error: fe.code ? fe.code.toLowerCase().replace(/^fst_err_/, '') : 'bad_request', message: fe.message });
  });

  app.setNotFoundHandler((request, reply) => {
    reply.code(404).send({ error: 'not_found', message: `No route ${request.method} ${request.url.split('?')[0]}` });
  });

  if (options.openapi) {
    await app.register(swagger, {
      openapi: {
        info: { title: options.title, version: '0.1.0' },
        components: { securitySchemes: {
          session: { type: 'apiKey', in: 'cookie', name: 'skynet_session' },
          bearer: { type: 'http', scheme: 'bearer' },
        } },
        security: [{ session: [] }, { bearer: [] }],
      },
    });
    await app.register(swaggerUi, { routePrefix: '/docs' });
  }
  return app;
}
