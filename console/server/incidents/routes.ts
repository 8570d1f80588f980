import fp from 'fastify-plugin';
import type { App } from '../../../core/http/app.ts';
import type { ConsoleContext } from '../context.ts';

// PLACEHOLDER (issue 9): the incidents feature's routes are being written.
export const incidentRoutes = fp(async (_app: App, _opts: { ctx: ConsoleContext }) => {}, { name: 'incidents-routes', dependencies: ['identity-guard'] });
