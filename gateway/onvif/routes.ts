import { Type, type Static } from 'typebox';
import fp from 'fastify-plugin';
import type { App } from '../../core/http/app.ts';
import { errors, IdParams } from '../../core/http/schemas.ts';
import type { AuditLog } from '../../core/audit/types.ts';
import { ADMIN, PTZ_OPERATORS, STAFF } from '../../core/identity/types.ts';
import type { GatewayClient } from '../nodes/client.ts';
import type { DeviceService } from '../devices/service.ts';
import { Profile } from '../devices/schemas.ts';
import type { OnvifService } from './service.ts';
import { createOnvifUserService, type Asker } from './user-service.ts';

const ProbeBody = Type.Object({
  host: Type.String({ minLength: 1, maxLength: 253 }),
  port: Type.Integer({ minimum: 1, maximum: 65535, default: 80 }),
  username: Type.String({ maxLength: 128, default: '' }),
  password: Type.String({ maxLength: 256, default: '' }),
});
const Warning = Type.Object({
  code: Type.String({ description: 'Stable code (onvif.stream_uri_refused, …), worded by the web app like an error code.' }),
  params: Type.Record(Type.String(), Type.Union([Type.String(), Type.Number()])),
  message: Type.String({ description: 'English wording, for scripts and logs.' }),
});
const ProbeResult = Type.Object({
  vendor: Type.String(), model: Type.String(), serial: Type.String(), firmware: Type.String(),
  profiles: Type.Array(Profile, { description: 'A profile whose URI the URL policy refused is listed without it (see warnings).' }),
  rtspMain: Type.Union([Type.String(), Type.Null()]), rtspSub: Type.Union([Type.String(), Type.Null()]),
  snapshotUri: Type.Union([Type.String(), Type.Null()]), ptz: Type.Boolean(),
  warnings: Type.Array(Warning, { description: 'What the probe dropped from the device\'s answer (a file: or concat: URI, …).' }),
});
const DiscoverBody = Type.Object({
  timeoutMs: Type.Integer({ minimum: 200, maximum: 10_000, default: 2000 }),
  host: Type.Optional(Type.String({ minLength: 1, maxLength: 253 })),
  port: Type.Optional(Type.Integer({ minimum: 1, maximum: 65535 })),
});
const Discovered = Type.Object({
  urn: Type.String(), host: Type.String(), port: Type.Integer(), xaddrs: Type.Array(Type.String()),
  name: Type.Union([Type.String(), Type.Null()]), hardware: Type.Union([Type.String(), Type.Null()]), scopes: Type.Array(Type.String()),
});
const DiscoveredForUser = Type.Object({
  ...Discovered.properties,
  registered: Type.Union([Type.Object({ deviceId: Type.String(), name: Type.String() }), Type.Null()], { description: 'The registered device at this ONVIF address, if any.' }),
});
const Move = Type.Object({
  pan: Type.Number({ minimum: -1, maximum: 1, default: 0 }), tilt: Type.Number({ minimum: -1, maximum: 1, default: 0 }),
  zoom: Type.Number({ minimum: -1, maximum: 1, default: 0 }),
  timeoutMs: Type.Integer({ minimum: 100, maximum: 60_000, default: 10_000 }),
});
const PtzStatus = Type.Object({ pan: Type.Number(), tilt: Type.Number(), zoom: Type.Number(), moving: Type.Boolean() });
const Presets = Type.Object({ items: Type.Array(Type.Object({ token: Type.String(), name: Type.String() })) });
const PresetName = Type.Object({ name: Type.String({ minLength: 1, maxLength: 64 }) });
const PresetParams = Type.Object({ id: Type.String({ format: 'uuid' }), token: Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9_.-]+$' }) });

/**
 * People's ONVIF actions (console process): probe, discover, PTZ. Each one is
 * carried out by the gateway node that holds the device, through its internal API.
 * Errors: 4xx when the person's input is at fault (a refused password is 422
 * `onvif.auth_failed`), 502/504 when the device or network fails (gateway/onvif/service.ts).
 */
export const onvifUserRoutes = fp(async (app: App, deps: { gateway: GatewayClient; devices: DeviceService; audit: AuditLog }) => {
  const onvif = createOnvifUserService(deps);
  const who = (req: { principal: Asker['principal'] | null; ip: string; id: string }): Asker => ({ principal: req.principal!, ip: req.ip, requestId: req.id });
  const probeErrors = errors(400, 401, 403, 404, 422, 502, 503, 504);
  const ptzErrors = errors(400, 401, 403, 404, 409, 422, 502, 503, 504);

  app.post('/api/devices/probe', {
    config: { access: { roles: ADMIN } },
    schema: { tags: ['onvif'], summary: 'Probe a device over ONVIF', description: 'Ask a device over ONVIF what it is and how to stream it. A refused user name or password is 422 `onvif.auth_failed`; an unreachable device 502, one that does not answer in time 504.', body: ProbeBody, response: { 200: ProbeResult, ...probeErrors } },
  }, async (req) => onvif.probe(req.body, who(req)));

  app.post('/api/devices/:id/probe', {
    config: { access: { roles: ADMIN } },
    schema: { tags: ['onvif'], summary: 'Probe a registered device again', description: 'Probe a registered device again with its stored credentials.', params: IdParams, response: { 200: ProbeResult, ...probeErrors } },
  }, async (req) => onvif.probeRegistered(req.params.id, who(req)));

  app.post('/api/devices/discover', {
    config: { access: { roles: ADMIN } },
    schema: { tags: ['onvif'], summary: 'Find ONVIF devices (WS-Discovery)', description: 'WS-Discovery: multicast on the gateway\'s network, or unicast to `host`. One result per endpoint and address; `registered` names the device already registered at that ONVIF address.', body: DiscoverBody, response: { 200: Type.Object({ items: Type.Array(DiscoveredForUser) }), ...errors(400, 401, 403, 422, 502, 503) } },
  }, async (req) => ({ items: await onvif.discover(req.body) }));

  app.post('/api/devices/:id/ptz/move', {
    config: { access: { roles: PTZ_OPERATORS } },
    schema: { tags: ['ptz'], summary: 'Start a continuous PTZ move', params: IdParams, body: Move, response: { 204: Type.Null(), ...ptzErrors } },
  }, async (req, reply) => {
    await onvif.ptzMove(req.params.id, req.body, who(req));
    return reply.code(204).send(null);
  });

  app.post('/api/devices/:id/ptz/stop', {
    config: { access: { roles: PTZ_OPERATORS } },
    schema: { tags: ['ptz'], summary: 'Stop PTZ movement', params: IdParams, response: { 204: Type.Null(), ...ptzErrors } },
  }, async (req, reply) => {
    await onvif.ptzStop(req.params.id);
    return reply.code(204).send(null);
  });

  app.get('/api/devices/:id/ptz/status', {
    config: { access: { roles: STAFF } },
    schema: { tags: ['ptz'], summary: 'PTZ position and whether it moves', params: IdParams, response: { 200: PtzStatus, ...ptzErrors } },
  }, async (req) => onvif.ptzStatus(req.params.id));

  app.get('/api/devices/:id/ptz/presets', {
    config: { access: { roles: STAFF } },
    schema: { tags: ['ptz'], summary: 'List PTZ presets', params: IdParams, response: { 200: Presets, ...ptzErrors } },
  }, async (req) => onvif.ptzPresets(req.params.id));

  app.post('/api/devices/:id/ptz/presets', {
    config: { access: { roles: PTZ_OPERATORS } },
    schema: { tags: ['ptz'], summary: 'Save the current position as a preset', description: 'A name the camera already has is 409 `onvif.preset_name_taken`; a blank one 400.', params: IdParams, body: PresetName, response: { 201: Type.Object({ token: Type.String() }), ...ptzErrors } },
  }, async (req, reply) => reply.code(201).send(await onvif.ptzSetPreset(req.params.id, req.body.name, who(req))));

  app.post('/api/devices/:id/ptz/presets/:token/goto', {
    config: { access: { roles: PTZ_OPERATORS } },
    schema: { tags: ['ptz'], summary: 'Go to a preset', description: 'A token the camera does not know is 404 `onvif.preset_not_found`.', params: PresetParams, response: { 204: Type.Null(), ...ptzErrors } },
  }, async (req, reply) => {
    await onvif.ptzGotoPreset(req.params.id, req.params.token, who(req));
    return reply.code(204).send(null);
  });
}, { name: 'onvif-user-routes', dependencies: ['identity-guard'] });

/** The gateway's internal ONVIF API: only the service token gets in. */
export const onvifInternalRoutes = fp(async (app: App, { onvif }: { onvif: OnvifService }) => {
  const access = 'service' as const;
  app.post('/internal/onvif/probe', { config: { access }, schema: { body: ProbeBody, response: { 200: ProbeResult } } },
    async (req) => onvif.probe(req.body));
  app.post('/internal/devices/:id/probe', { config: { access }, schema: { params: IdParams, response: { 200: ProbeResult } } },
    async (req) => onvif.probeRegistered(req.params.id));
  app.post('/internal/onvif/discover', { config: { access }, schema: { body: DiscoverBody, response: { 200: Type.Object({ items: Type.Array(Discovered) }) } } },
    async (req) => ({ items: await onvif.discover(req.body) }));
  app.post('/internal/devices/:id/ptz/move', { config: { access }, schema: { params: IdParams, body: Move } },
    async (req, reply) => { await onvif.ptzMove(req.params.id, req.body); return reply.code(204).send(null); });
  app.post('/internal/devices/:id/ptz/stop', { config: { access }, schema: { params: IdParams } },
    async (req, reply) => { await onvif.ptzStop(req.params.id); return reply.code(204).send(null); });
  app.get('/internal/devices/:id/ptz/status', { config: { access }, schema: { params: IdParams, response: { 200: PtzStatus } } },
    async (req) => onvif.ptzStatus(req.params.id));
  app.get('/internal/devices/:id/ptz/presets', { config: { access }, schema: { params: IdParams, response: { 200: Presets } } },
    async (req) => ({ items: await onvif.ptzPresets(req.params.id) }));
  app.post('/internal/devices/:id/ptz/presets', { config: { access }, schema: { params: IdParams, body: PresetName } },
    async (req) => onvif.ptzSetPreset(req.params.id, req.body.name));
  app.post('/internal/devices/:id/ptz/presets/:token/goto', { config: { access }, schema: { params: PresetParams } },
    async (req, reply) => { await onvif.ptzGotoPreset(req.params.id, req.params.token); return reply.code(204).send(null); });
}, { name: 'onvif-internal-routes', dependencies: ['identity-guard'] });
