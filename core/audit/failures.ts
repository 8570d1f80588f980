import fp from 'fastify-plugin';
import type { App } from '../http/app.ts';
import type { AuditEntry } from './types.ts';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The audit action of this route (`device.create`), used when a refusal is recorded for it. */
    audit?: string;
    /**
     * Error statuses of this route that write no refusal row: only for high-rate device traffic
     * (GPS fixes) whose 429s would otherwise let one flooding device fill the audit log.
     */
    auditSkip?: readonly number[];
  }
}

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/** The audit outcome of an error status: a refusal (401, 403, 429) is `denied`, anything else `failed`. */
export function outcomeFor(status: number): 'denied' | 'failed' {
  return status === 401 || status === 403 || status === 429 ? 'denied' : 'failed';
}

/** What the hook needs of the audit log: writing a row, and whether a request already wrote one. */
export interface AuditTrail {
  record(entry: AuditEntry): Promise<void>;
  /** True (once) when a row was recorded with this request id; forgets the id. */
  claim(requestId: string): boolean;
}

/**
 * Every write is audited, the refused and failed ones too: a state-changing request
 * answered with an error, for which its handler recorded no row (the request id marks
 * the ones that did, see createAuditLog), gets one here: the caller (or `anonymous`),
 * the route's `config.audit` action or `METHOD /route/:url`, and { status, code }.
 */
export const auditFailures = fp(async (app: App, opts: { audit: AuditTrail }) => {
  app.addHook('onResponse', async (request, reply) => {
    const recorded = opts.audit.claim(request.id);
    const status = reply.statusCode;
    if (recorded || status < 400 || SAFE_METHODS.has(request.method)) return;
    if (request.routeOptions.config?.auditSkip?.includes(status)) return;
    const routeUrl = request.routeOptions.url;
    if (!routeUrl) return; // no such route: nothing was written
    const principal = request.principal;
    try {
      await opts.audit.record({
        actor: principal ?? { kind: 'system', userId: null, username: 'anonymous' },
        action: request.routeOptions.config?.audit ?? `${request.method} ${routeUrl}`,
        outcome: outcomeFor(status),
        details: { status, code: request.errorCode ?? null },
        ip: request.ip,
        requestId: request.id,
      });
      opts.audit.claim(request.id);
    } catch (err) {
      request.log.error({ err }, 'could not write the audit row of a refused request');
    }
  });
}, { name: 'audit-failures', dependencies: ['identity-guard'] });
