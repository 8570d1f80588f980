import { Type, type Static } from 'typebox';
import fp from 'fastify-plugin';
import type { App } from '../../core/http/app.ts';
import { errors, IdParams } from '../../core/http/schemas.ts';
import { badRequest } from '../../core/http/errors.ts';
import type { AuditLog } from '../../core/audit/types.ts';
import { ADMIN, PTZ_OPERATORS, STAFF } from '../../core/identity/types.ts';
import type { GatewayClient } from '../nodes/client.ts';
import type { DeviceService } from '../devices/service.ts';
import { Profile } from '../devices/schemas.ts';
import type { OnvifService } from './service.ts';

const ProbeBody = Type.Object({
  host: Type.String({ minLength: 1, maxLength: 253 }),
  port: Type.Integer({ minimum: 1, maximum: 65535, default: 80 }),
  username: Type.String({ maxLength: 128, default: '' }),
  password: Type.String({ maxLength: 256, default: '' }),
});
const ProbeResult = Type.Object({
  vendor: Type.String(), model: Type.String(), serial: Type.String(), firmware: Type.String(),
  profiles: Type.Array(Profile), rtspMain: Type.Union([Type.String(), Type.Null()]), rtspSub: Type.Union([Type.String(), Type.Null()]),
  snapshotUri: Type.Union([Type.String(), Type.Null()]), ptz: Type.Boolean(),
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
 */
export const onvifUserRoutes = fp(async (app: App, { gateway, devices, audit }: { gateway: GatewayClient; devices: DeviceService; audit: AuditLog }) => {
  const ptzDevice = async (id: string) => {
    const device = await devices.get(id);
    if (!device.ptz) throw badRequest('this device has no PTZ', 'id');
    return device;
  };

  app.post('/api/devices/probe', {
    config: { access: { roles: ADMIN } },
    schema: { tags: ['onvif'], description: 'Ask a device over ONVIF what it is and how to stream it.', body: ProbeBody, response: { 200: ProbeResult, ...errors(400, 401, 403, 502, 503) } },
  }, async (req) => {
    const result = await gateway.anyNode<Static<typeof ProbeResult>>('POST', '/internal/onvif/probe', req.body, 20_000);
    await audit.record({ actor: req.principal!, action: 'onvif.probe', targetType: 'host', targetId: `${req.body.host}:${req.body.port}`, ip: req.ip, requestId: req.id });
    return result;
  });

  app.post('/api/devices/:id/probe', {
    config: { access: { roles: ADMIN } },
    schema: { tags: ['onvif'], description: 'Probe a registered device again with its stored credentials.', params: IdParams, response: { 200: ProbeResult, ...errors(400, 401, 403, 404, 502, 503) } },
  }, async (req) => {
    await devices.get(req.params.id);
    const result = await gateway.forDevice<Static<typeof ProbeResult>>(req.params.id, 'POST', `/internal/devices/${req.params.id}/probe`, {}, 20_000);
    await audit.record({ actor: req.principal!, action: 'onvif.probe', targetType: 'device', targetId: req.params.id, ip: req.ip, requestId: req.id });
    return result;
  });

  app.post('/api/devices/discover', {
    config: { access: { roles: ADMIN } },
    schema: { tags: ['onvif'], description: 'WS-Discovery: multicast on the gateway\'s network, or unicast to `host`.', body: DiscoverBody, response: { 200: Type.Object({ items: Type.Array(Discovered) }), ...errors(400, 401, 403, 503) } },
  }, async (req) => gateway.anyNode<{ items: Static<typeof Discovered>[] }>('POST', '/internal/onvif/discover', req.body, req.body.timeoutMs + 5000));

  app.post('/api/devices/:id/ptz/move', {
    config: { access: { roles: PTZ_OPERATORS } },
    schema: { tags: ['ptz'], params: IdParams, body: Move, response: { 204: Type.Null(), ...errors(400, 401, 403, 404, 502, 503) } },
  }, async (req, reply) => {
    await ptzDevice(req.params.id);
    await gateway.forDevice(req.params.id, 'POST', `/internal/devices/${req.params.id}/ptz/move`, req.body);
    await audit.record({ actor: req.principal!, action: 'ptz.move', targetType: 'device', targetId: req.params.id, details: { pan: req.body.pan, tilt: req.body.tilt, zoom: req.body.zoom }, ip: req.ip, requestId: req.id });
    return reply.code(204).send(null);
  });

  app.post('/api/devices/:id/ptz/stop', {
    config: { access: { roles: PTZ_OPERATORS } },
    schema: { tags: ['ptz'], params: IdParams, response: { 204: Type.Null(), ...errors(400, 401, 403, 404, 502, 503) } },
  }, async (req, reply) => {
    await ptzDevice(req.params.id);
    await gateway.forDevice(req.params.id, 'POST', `/internal/devices/${req.params.id}/ptz/stop`, {});
    return reply.code(204).send(null);
  });

  app.get('/api/devices/:id/ptz/status', {
    config: { access: { roles: STAFF } },
    schema: { tags: ['ptz'], params: IdParams, response: { 200: PtzStatus, ...errors(400, 401, 403, 404, 502, 503) } },
  }, async (req) => {
    await ptzDevice(req.params.id);
    return gateway.forDevice<Static<typeof PtzStatus>>(req.params.id, 'GET', `/internal/devices/${req.params.id}/ptz/status`);
  });

  app.get('/api/devices/:id/ptz/presets', {
    config: { access: { roles: STAFF } },
    schema: { tags: ['ptz'], params: IdParams, response: { 200: Presets, ...errors(400, 401, 403, 404, 502, 503) } },
  }, async (req) => {
    await ptzDevice(req.params.id);
    return gateway.forDevice<Static<typeof Presets>>(req.params.id, 'GET', `/internal/devices/${req.params.id}/ptz/presets`);
  });

  app.post('/api/devices/:id/ptz/presets', {
    config: { access: { roles: PTZ_OPERATORS } },
    schema: { tags: ['ptz'], params: IdParams, body: PresetName, response: { 201: Type.Object({ token: Type.String() }), ...errors(400, 401, 403, 404, 502, 503) } },
  }, async (req, reply) => {
    await ptzDevice(req.params.id);
    const result = await gateway.forDevice<{ token: string }>(req.params.id, 'POST', `/internal/devices/${req.params.id}/ptz/presets`, req.body);
    await audit.record({ actor: req.principal!, action: 'ptz.preset.set', targetType: 'device', targetId: req.params.id, details: { name: req.body.name, token: result.token }, ip: req.ip, requestId: req.id });
    return reply.code(201).send(result);
  });

  app.post('/api/devices/:id/ptz/presets/:token/goto', {
    config: { access: { roles: PTZ_OPERATORS } },
    schema: { tags: ['ptz'], params: PresetParams, response: { 204: Type.Null(), ...errors(400, 401, 403, 404, 502, 503) } },
  }, async (req, reply) => {
    await ptzDevice(req.params.id);
    await gateway.forDevice(req.params.id, 'POST', `/internal/devices/${req.params.id}/ptz/presets/${encodeURIComponent(req.params.token)}/goto`, {});
    await audit.record({ actor: req.principal!, action: 'ptz.preset.goto', targetType: 'device', targetId: req.params.id, details: { token: req.params.token }, ip: req.ip, requestId: req.id });
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
