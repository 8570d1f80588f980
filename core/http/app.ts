import Fastify, { type FastifyInstance, type FastifyError, type FastifyServerOptions } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import addFormats from 'ajv-formats';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { Logger } from 'pino';
import { HttpError, type ErrorParams } from './errors.ts';

const STRICT_UTF8 = new TextDecoder('utf-8', { fatal: true });

/** The one error body (see errors.ts). */
export function errorBody(error: string, code: string, message: string, field?: string, params?: ErrorParams) {
  return { error, code, message, ...(params ? { params } : {}), ...(field ? { field } : {}) };
}

/** What an ajv error says of its limit, as plain parameters the web app can word. */
function validationParams(p: Record<string, unknown>): ErrorParams | undefined {
  const out: ErrorParams = {};
  for (const [k, v] of Object.entries(p)) {
    if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') out[k] = v;
    else if (Array.isArray(v)) out[k] = v.join(', ');
  }
  return Object.keys(out).length ? out : undefined;
}

/** A request path for a message: no query string (tokens live there), at most 200 characters. */
export function routePath(url: string): string {
  return url.split('?')[0]!.slice(0, 200);
}

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

  // JSON bodies are decoded strictly: invalid UTF-8 is refused, never stored as U+FFFD.
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (_req, body, done) => {
    const buf = body as Buffer;
    if (buf.length === 0) return done(null, undefined);
    let text: string;
    try {
      text = STRICT_UTF8.decode(buf);
    } catch {
      return done(new HttpError(400, 'bad_request', 'the request body is not valid UTF-8', { code: 'request.invalid_utf8' }), undefined);
    }
    try {
      done(null, JSON.parse(text));
    } catch {
      done(new HttpError(400, 'bad_request', 'the request body is not valid JSON', { code: 'request.invalid_json' }), undefined);
    }
  });

  app.setErrorHandler((err: FastifyError | HttpError, request, reply) => {
    if (err instanceof HttpError) {
      if (err.statusCode >= 500) request.log.warn({ err }, err.message);
      return reply.code(err.statusCode).send(errorBody(err.error, err.code, err.message, err.field, err.params));
    }
    const fe = err as FastifyError;
    if (fe.validation) {
      const first = fe.validation[0];
      const ajvParams = (first?.params ?? {}) as Record<string, unknown>;
      const missing = ajvParams.missingProperty as string | undefined;
      const path = (first?.instancePath ?? '').split('/').filter(Boolean);
      const field = missing ?? (path.length ? path.join('.') : undefined);
      const message = `${fe.validationContext ?? 'request'}${field ? `.${field}` : ''} ${first?.message ?? 'is invalid'}`;
      return reply.code(400).send(errorBody('bad_request', `validation.${first?.keyword ?? 'invalid'}`, message, field, validationParams(ajvParams)));
    }
    const status = fe.statusCode && fe.statusCode >= 400 ? fe.statusCode : 500;
    if (status >= 500) {
      request.log.error({ err }, 'request failed');
      return reply.code(status).send(errorBody('internal', 'internal', `Internal error (request ${request.id})`, undefined, { requestId: request.id }));
    }
    const code = fe.code ? fe.code.toLowerCase().replace(/^fst_err_/, '') : 'bad_request';
    // Fastify's own messages can quote the request URL (FST_ERR_BAD_URL), tokens and all: never echo it.
    const message = /url/i.test(code) ? 'the request URL is malformed' : fe.message.replace(/token=[^&\s'"]+/g, 'token=…');
    return reply.code(status).send(errorBody(status === 413 ? 'payload_too_large' : 'bad_request', `request.${code}`, message));
  });

  app.setNotFoundHandler((request, reply) => {
    reply.code(404).send(errorBody('not_found', 'route.not_found', `No route ${request.method} ${routePath(request.url)}`, undefined, { method: request.method }));
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
