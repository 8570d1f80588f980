import fp from 'fastify-plugin';
import type { App } from '../../core/http/app.ts';
import type { Platform } from '../../core/platform.ts';

// PLACEHOLDER (issue 9): the site tree's admin routes are being written.
export const siteRoutes = fp(async (_app: App, _opts: { platform: Platform }) => {}, { name: 'site-routes', dependencies: ['identity-guard'] });
