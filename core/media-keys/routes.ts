import { Type } from 'typebox';
import fp from 'fastify-plugin';
import type { App } from '../http/app.ts';
import { DateTime, errors, NullableDateTime } from '../http/schemas.ts';
import { ADMIN } from '../identity/types.ts';
import type { MediaKeyring } from './keyring.ts';

const KeyList = Type.Object({
  current: Type.Union([Type.String(), Type.Null()]),
  keys: Type.Array(Type.Object({ kid: Type.String(), createdAt: DateTime, retiredAt: NullableDateTime })),
});

/**
 * Media-key administration (console, admins only): which key ids verify media tokens,
 * and rotation without a restart. The key material never leaves the server: only ids.
 */
export const mediaKeyRoutes = fp(async (app: App, opts: { keyring: MediaKeyring }) => {
  const { keyring } = opts;

  app.get('/api/admin/media-keys', {
    config: { access: { roles: ADMIN } },
    schema: {
      tags: ['admin'], summary: 'Media key ids', description: 'The key id media tokens are signed with now, and the retired ones still verifying (no key material).',
      response: { 200: KeyList, ...errors(401, 403) },
    },
  }, async () => keyring.list());

  app.post('/api/admin/media-keys/rotate', {
    config: { access: { roles: ADMIN } },
    schema: {
      tags: ['admin'], summary: 'Rotate the media key',
      description: 'Sign new media tokens with a new key id from now on; tokens of the old one keep working for the longest token life (graceSeconds), then stop. Every gateway and console learns it within seconds, without a restart. Audited.',
      response: { 200: Type.Object({ kid: Type.String(), retired: Type.Array(Type.String()), graceSeconds: Type.Integer() }), ...errors(401, 403) },
    },
  }, async (req) => keyring.rotate(req.principal!, { ip: req.ip, requestId: req.id }));
}, { name: 'media-key-routes', dependencies: ['identity-guard'] });
