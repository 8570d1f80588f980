// PLACEHOLDER: replaced by the retention feature (being built now).
import fp from 'fastify-plugin';
import type { App } from '../../core/http/app.ts';
import type { RetentionService } from './service.ts';

export const retentionRoutes = fp(async (_app: App, _opts: { retention: RetentionService }) => {}, { name: 'retention-routes', dependencies: ['identity-guard'] });
