// PLACEHOLDER: replaced by the snapshot feature (being built now).
import fp from 'fastify-plugin';
import type { App } from '../../core/http/app.ts';
import type { SnapshotService } from './service.ts';

export const snapshotRoutes = fp(async (_app: App, _opts: { snapshots: SnapshotService }) => {}, { name: 'snapshot-routes', dependencies: ['identity-guard'] });
