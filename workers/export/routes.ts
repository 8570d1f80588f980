// PLACEHOLDER: replaced by the export feature (being built now).
import fp from 'fastify-plugin';
import type { App } from '../../core/http/app.ts';
import type { ExportService } from './service.ts';

export const exportRoutes = fp(async (_app: App, _opts: { exports: ExportService }) => {}, { name: 'export-routes', dependencies: ['identity-guard'] });
