import { Type } from 'typebox';
import fp from 'fastify-plugin';
import type { App } from './app.ts';
import type { Pool } from '../db/pool.ts';
import type { Redis } from '../redis.ts';

/** GET /api/health: 200 once the process is ready and its PostgreSQL and Redis answer, 503 otherwise. */
export const healthRoute = fp(async (app: App, opts: { process: string; timezone: string; siteName: string; pool: Pool; redis: Redis; ready: () => boolean }) => {
  app.get('/api/health', {
    config: { access: 'public' },
    schema: {
      summary: 'Readiness of this process (PostgreSQL, Redis)', tags: ['health'],
      response: {
        200: Type.Object({ status: Type.String(), process: Type.String(), timezone: Type.String(), siteName: Type.String(), time: Type.String() }),
        503: Type.Object({ status: Type.String(), process: Type.String(), timezone: Type.String(), siteName: Type.String(), time: Type.String(), reason: Type.String() }),
      },
    },
  }, async (_req, reply) => {
    const base = { process: opts.process, timezone: opts.timezone, siteName: opts.siteName, time: new Date().toISOString() };
    if (!opts.ready()) return reply.code(503).send({ status: 'starting', ...base, reason: 'starting up' });
    const problems: string[] = [];
    await Promise.all([
      opts.pool.query('SELECT 1').catch(() => problems.push('PostgreSQL')),
      Promise.race([opts.redis.ping(), new Promise((_, no) => setTimeout(() => no(new Error('timeout')), 1000))]).catch(() => problems.push('Redis')),
    ]);
    if (problems.length) return reply.code(503).send({ status: 'degraded', ...base, reason: `${problems.join(' and ')} not answering` });
    return { status: 'ok', ...base };
  });
}, { name: 'health-route' });
