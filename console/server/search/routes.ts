import fp from 'fastify-plugin';
import type { App } from '../../../core/http/app.ts';
import type { ConsoleContext } from '../context.ts';

// PLACEHOLDER (issue 9): the search feature's routes are being written.
export const searchRoutes = fp(async (_app: App, _opts: { ctx: ConsoleContext }) => {}, { name: 'search-routes', dependencies: ['identity-guard'] });
