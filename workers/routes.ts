import { Type } from 'typebox';
import fp from 'fastify-plugin';
import type { App } from '../core/http/app.ts';
import { forbidden, notFound } from '../core/http/errors.ts';
import { DateTime, errors, NullableDateTime, StringEnum } from '../core/http/schemas.ts';
import { ADMIN, STAFF } from '../core/identity/types.ts';
import type { AuditLog } from '../core/audit/types.ts';
import { QUEUE_NAMES, type JobProducer, type QueueName } from './jobs.ts';
import type { JobRuns } from './runs.ts';

const JobStateSchema = Type.Object({
  id: Type.String(),
  queue: Type.String(),
  name: Type.String(),
  state: Type.String({ description: 'waiting, active, delayed, completed, failed, …' }),
  progress: Type.Unknown(),
  attemptsMade: Type.Integer(),
  result: Type.Unknown(),
  failedReason: Type.Union([Type.String(), Type.Null()]),
  createdAt: DateTime,
  processedAt: NullableDateTime,
  finishedAt: NullableDateTime,
});
const RunSchema = Type.Object({
  id: Type.Integer(), queue: Type.String(), name: Type.String(), jobId: Type.Union([Type.String(), Type.Null()]),
  startedAt: DateTime, finishedAt: NullableDateTime, status: StringEnum(['running', 'ok', 'failed'] as const),
  result: Type.Union([Type.Record(Type.String(), Type.Unknown()), Type.Null()]), error: Type.Union([Type.String(), Type.Null()]),
});

/**
 * The job platform's API (console process): a job's state, progress and result; the last
 * runs of scheduled jobs (admins); a manual retention run (admins). The queue dashboard
 * itself is Bull Board at /admin/queues (board.ts).
 */
export const jobRoutes = fp(async (app: App, opts: { jobs: JobProducer; runs: JobRuns; audit: AuditLog }) => {
  const { jobs, runs, audit } = opts;

  app.get('/api/jobs/:queue/:id', {
    config: { access: { roles: STAFF } },
    schema: {
      tags: ['jobs'], summary: 'A job\'s state',
      description: 'State, progress, attempts and result of one job. Admins see every job; others only the jobs they asked for.',
      params: Type.Object({ queue: StringEnum(QUEUE_NAMES), id: Type.String({ minLength: 1, maxLength: 200 }) }),
      response: { 200: JobStateSchema, ...errors(401, 403, 404) },
    },
  }, async (req) => {
    const state = await jobs.state(req.params.queue as QueueName, req.params.id);
    if (!state) throw notFound('job', { code: 'job.not_found' });
    const owner = (state.data as { requestedBy?: { userId?: string | null } } | null)?.requestedBy?.userId ?? null;
    if (!req.principal!.roles.includes('admin') && owner !== req.principal!.userId) throw forbidden();
    const { data: _data, ...shown } = state;
    return shown;
  });

  app.get('/api/admin/job-runs', {
    config: { access: { roles: ADMIN } },
    schema: {
      tags: ['jobs'], summary: 'Last runs of scheduled jobs',
      description: 'What each run of the session purge and of retention did (started, finished, result), newest first.',
      querystring: Type.Object({
        name: Type.Optional(Type.String({ pattern: '^[a-z]+\\.[a-z]+$', maxLength: 60 })),
        limit: Type.Integer({ minimum: 1, maximum: 200, default: 20 }),
      }),
      response: { 200: Type.Object({ items: Type.Array(RunSchema) }), ...errors(400, 401, 403) },
    },
  }, async (req) => ({ items: await runs.last({ name: req.query.name, limit: req.query.limit }) }));

  app.post('/api/admin/retention/run', {
    config: { access: { roles: ADMIN } },
    schema: {
      tags: ['jobs'], summary: 'Run retention now',
      description: 'Queue a retention run (the same job the schedule adds). Returns the job to follow.',
      response: { 202: Type.Object({ queue: Type.String(), id: Type.String() }), ...errors(401, 403) },
    },
  }, async (req, reply) => {
    const job = await jobs.add('retention', 'retention.run', { trigger: 'manual' });
    await audit.record({ actor: req.principal!, action: 'retention.run', targetType: 'job', targetId: job.id, ip: req.ip, requestId: req.id });
    return reply.code(202).send({ queue: 'retention', id: job.id });
  });
}, { name: 'job-routes', dependencies: ['identity-guard'] });
