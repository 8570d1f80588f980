import { randomBytes } from 'node:crypto';
import Fastify, { type FastifyInstance, type FastifyError, type FastifyServerOptions } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import addFormats from 'ajv-formats';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { Logger } from 'pino';
import { HttpError, type ErrorParams } from './errors.ts';
import { RequestLog } from './request-log.ts';
import { scrubMediaPath } from '../log.ts';

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

/** `r<random>-<n>`: a per-app random part, then a counter. */
function requestIds(): () => string {
  const prefix = randomBytes(4).toString('hex');
  let n = 0;
  return () => `r${prefix}-${(++n).toString(36)}`;
}

/** A request path for a message: no query string, no media token (a path segment of /media/…), at most 200 characters. */
export function routePath(url: string): string {
  return scrubMediaPath(url.split('?')[0]!).slice(0, 200);
}

export type App = FastifyInstance<any, any, any, Logger, TypeBoxTypeProvider>;

declare module 'fastify' {
  interface FastifyRequest {
    /** The `code` of the error this request was answered with (set by the error handler), for the audit log. */
    errorCode: string | null;
  }
}

/**
 * Which proxies' X-Forwarded-* headers to believe: false (none, the default), true (any:
 * only behind a proxy that overwrites them), a hop count, or IPs/CIDRs (a comma list).
 */
export type TrustProxy = boolean | number | string | string[];

export interface AppOptions {
  logger: Logger;
  title: string;
  /** Serve OpenAPI JSON at /docs/json and the UI at /docs. */
  openapi?: boolean;
  bodyLimit?: number;
  trustProxy?: TrustProxy;
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
    // A hop count is honoured at run time (proxy-addr) though Fastify's types omit it.
    trustProxy: (options.trustProxy ?? false) as boolean | string | string[],
    // Request ids unique across processes and app instances (one audit log can serve several).
    genReqId: requestIds(),
    // Closing must not wait on a slow or stalled client (a player that stopped reading a
    // segment): shutdown is bounded, so open connections are cut when the app closes.
    forceCloseConnections: true,
    // Media tokens ride in a path segment (/media/vod/<device>/<token>/…): a few hundred characters.
    routerOptions: { maxParamLength: 1024 },
    // A malformed URL (or a path parameter past that) never reaches the error handler: answer
    // here, quoting nothing of the URL (Fastify's default answer echoes it, media token and all).
    frameworkErrors: (_err, _request, reply) => {
      void (reply as unknown as { code(n: number): { send(body: unknown): unknown } }).code(400).send(errorBody('bad_request', 'request.bad_url', 'the request URL is malformed'));
    },
    // Per-request lines at debug, so they bury nothing (request-log.ts).
    logController: new RequestLog(),
    ajv: {
      customOptions: { removeAdditional: 'all', coerceTypes: 'array', useDefaults: true, allErrors: false },
      plugins: [addFormats as never],
    },
  }).withTypeProvider<TypeBoxTypeProvider>() as unknown as App;

  // JSON bodies are decoded strictly: invalid UTF-8 is refused, never stored as U+FFFD.
  // Fastify's default text/plain parser goes too: a route that takes another body type (the
  // CSV import) adds its parser in its own scope, so no JSON route accepts a cross-site form's text/plain.
  app.removeContentTypeParser('text/plain');
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

  app.decorateRequest('errorCode', null);

  app.setErrorHandler((err: FastifyError | HttpError, request, reply) => {
    // The code is kept on the request too: the audit hook records it for refused writes.
    const send = (status: number, body: ReturnType<typeof errorBody>) => {
      request.errorCode = body.code;
      return reply.code(status).send(body);
    };
    if (err instanceof HttpError) {
      if (err.statusCode >= 500) request.log.warn({ err }, err.message);
      return send(err.statusCode, errorBody(err.error, err.code, err.message, err.field, err.params));
    }
    const fe = err as FastifyError;
    if (fe.validation) {
      const first = fe.validation[0];
      const ajvParams = (first?.params ?? {}) as Record<string, unknown>;
      const missing = ajvParams.missingProperty as string | undefined;
      const path = (first?.instancePath ?? '').split('/').filter(Boolean);
      const field = missing ?? (path.length ? path.join('.') : undefined);
      const message = `${fe.validationContext ?? 'request'}${field ? `.${field}` : ''} ${first?.message ?? 'is invalid'}`;
      return send(400, errorBody('bad_request', `validation.${first?.keyword ?? 'invalid'}`, message, field, validationParams(ajvParams)));
    }
    const status = fe.statusCode && fe.statusCode >= 400 ? fe.statusCode : 500;
    if (status >= 500) {
      request.log.error({ err }, 'request failed');
      return send(status, errorBody('internal', 'internal', `Internal error (request ${request.id})`, undefined, { requestId: request.id }));
    }
    const code = fe.code ? fe.code.toLowerCase().replace(/^fst_err_/, '') : 'bad_request';
    // Fastify's own messages can quote the request URL (FST_ERR_BAD_URL), tokens and all: never echo it.
    const message = /url/i.test(code) ? 'the request URL is malformed' : fe.message.replace(/token=[^&\s'"]+/g, 'token=…');
    return send(status, errorBody(status === 413 ? 'payload_too_large' : 'bad_request', `request.${code}`, message));
  });

  app.setNotFoundHandler((request, reply) => {
    request.errorCode = 'route.not_found';
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
