import { Type } from 'typebox';
import fp from 'fastify-plugin';
import type { App } from '../../../core/http/app.ts';
import { errors, Uuid } from '../../../core/http/schemas.ts';
import { CONTROL_ROOM, INVESTIGATORS, MONITORS } from '../../../core/identity/types.ts';
import { EXPORTERS, ExportSchema } from '../../../workers/export/routes.ts';
import { SnapshotSchema } from '../../../workers/snapshot/routes.ts';
import type { ConsoleContext } from '../context.ts';
import {
  BookmarkParams, BookmarkSchema, CatalogueSchema, CreateIncidentBody, ExportSummarySchema, IncidentParams, IncidentSchema,
  IncidentSummarySchema, ListQuerySchema, PatchIncidentBody, StatusBody, TimelineEntrySchema,
} from './schemas.ts';
import { createIncidentService } from './service.ts';

const tags = ['incidents'];

/**
 * Incidents (警情): the control room's case list, each incident's life cycle, timeline and
 * evidence. Monitors create and change incidents; the whole control room reads them;
 * investigators (and monitors) bookmark footage and take snapshots; exporters export.
 */
export const incidentRoutes = fp(async (app: App, opts: { ctx: ConsoleContext }) => {
  const incidents = createIncidentService(opts.ctx);
  const meta = (req: { ip: string; id: string }) => ({ ip: req.ip, requestId: req.id });

  app.get('/api/incidents/catalogue', {
    config: { access: { roles: CONTROL_ROOM } },
    schema: {
      tags, summary: 'Incident catalogue',
      description: 'The configured types (code and names), sources, statuses, priorities, the allowed status transitions and the nearby-camera radii.',
      response: { 200: CatalogueSchema, ...errors(401, 403) },
    },
  }, async () => incidents.catalogue());

  app.get('/api/incidents', {
    config: { access: { roles: CONTROL_ROOM } },
    schema: {
      tags, summary: 'Incidents',
      description: 'Newest occurrence first, filtered; `cursor` (from `nextCursor`) pages on. `total` counts matches up to 10,000 (`totalCapped` when there are more).',
      querystring: ListQuerySchema,
      response: {
        200: Type.Object({ items: Type.Array(IncidentSummarySchema), nextCursor: Type.Union([Type.String(), Type.Null()]), total: Type.Integer(), totalCapped: Type.Boolean() }),
        ...errors(400, 401, 403),
      },
    },
  }, async (req) => incidents.list(req.principal!, req.query));

  app.post('/api/incidents', {
    config: { access: { roles: MONITORS }, audit: 'incident.create' },
    schema: {
      tags, summary: 'Create an incident',
      description: 'Numbered <prefix><yyyymmdd><sequence> (the site-local day). Raised from a camera (`deviceId`), it takes the camera\'s place and address unless given. Audited; announced on the realtime channel.',
      body: CreateIncidentBody,
      response: { 201: Type.Object({ incident: IncidentSchema }), ...errors(400, 401, 403) },
    },
  }, async (req, reply) => reply.code(201).send({ incident: await incidents.create(req.principal!, req.body, meta(req)) }));

  app.get('/api/incidents/:id', {
    config: { access: { roles: CONTROL_ROOM } },
    schema: { tags, summary: 'An incident', params: IncidentParams, response: { 200: IncidentSchema, ...errors(400, 401, 403, 404) } },
  }, async (req) => incidents.get(req.principal!, req.params.id));

  app.patch('/api/incidents/:id', {
    config: { access: { roles: MONITORS }, audit: 'incident.update' },
    schema: {
      tags, summary: 'Edit an incident',
      description: 'Changes the fields sent. `version` must be the one you loaded: a newer one answers 409 incident.stale with currentVersion and who changed it. Closed and cancelled incidents do not change (409 incident.final).',
      params: IncidentParams, body: PatchIncidentBody,
      response: { 200: IncidentSchema, ...errors(400, 401, 403, 404, 409) },
    },
  }, async (req) => incidents.update(req.principal!, req.params.id, req.body, meta(req)));

  app.post('/api/incidents/:id/status', {
    config: { access: { roles: MONITORS }, audit: 'incident.status' },
    schema: {
      tags, summary: 'Change an incident\'s status',
      description: 'new → dispatched → on_scene → resolved → closed; cancelled from any open status; resolved → on_scene reopens. An illegal step answers 409 incident.bad_transition. Closing or cancelling releases the incident\'s footage holds.',
      params: IncidentParams, body: StatusBody,
      response: { 200: IncidentSchema, ...errors(400, 401, 403, 404, 409) },
    },
  }, async (req) => incidents.setStatus(req.principal!, req.params.id, req.body, meta(req)));

  app.get('/api/incidents/:id/timeline', {
    config: { access: { roles: CONTROL_ROOM } },
    schema: { tags, summary: 'An incident\'s timeline', description: 'Oldest first: everything done to the incident, by whom.', params: IncidentParams, response: { 200: Type.Object({ items: Type.Array(TimelineEntrySchema) }), ...errors(400, 401, 403, 404) } },
  }, async (req) => incidents.timeline(req.principal!, req.params.id));

  app.post('/api/incidents/:id/notes', {
    config: { access: { roles: INVESTIGATORS }, audit: 'incident.note' },
    schema: {
      tags, summary: 'Add a note', params: IncidentParams, body: Type.Object({ text: Type.String({ minLength: 1, maxLength: 10_000 }) }),
      response: { 201: Type.Object({ entry: TimelineEntrySchema }), ...errors(400, 401, 403, 404) },
    },
  }, async (req, reply) => reply.code(201).send(await incidents.addNote(req.principal!, req.params.id, req.body.text, meta(req))));

  app.get('/api/incidents/:id/evidence', {
    config: { access: { roles: CONTROL_ROOM } },
    schema: {
      tags, summary: 'An incident\'s evidence',
      description: 'Bookmarked footage ranges, snapshots (each with a fresh signed image link; audited as views) and exports made for it. Its alarms: GET /api/alarms?incidentId=.',
      params: IncidentParams,
      response: { 200: Type.Object({ bookmarks: Type.Array(BookmarkSchema), snapshots: Type.Array(SnapshotSchema), exports: Type.Array(ExportSummarySchema) }), ...errors(400, 401, 403, 404) },
    },
  }, async (req) => incidents.evidence(req.principal!, req.params.id, meta(req)));

  app.post('/api/incidents/:id/bookmarks', {
    config: { access: { roles: INVESTIGATORS }, audit: 'incident.bookmark_add' },
    schema: {
      tags, summary: 'Bookmark footage',
      description: 'Marks a camera\'s footage range on the incident and holds it from retention until the incident is closed or cancelled. At most 24 hours.',
      params: IncidentParams,
      body: Type.Object({ deviceId: Uuid, from: Type.String({ format: 'date-time' }), to: Type.String({ format: 'date-time' }), note: Type.Optional(Type.String({ maxLength: 10_000 })) }),
      response: { 201: Type.Object({ bookmark: BookmarkSchema }), ...errors(400, 401, 403, 404, 409) },
    },
  }, async (req, reply) => reply.code(201).send(await incidents.addBookmark(req.principal!, req.params.id, req.body, meta(req))));

  app.delete('/api/incidents/:id/bookmarks/:bookmarkId', {
    config: { access: { roles: INVESTIGATORS }, audit: 'incident.bookmark_remove' },
    schema: { tags, summary: 'Remove a bookmark', description: 'Its hold goes with it.', params: BookmarkParams, response: { 204: Type.Null(), ...errors(400, 401, 403, 404, 409) } },
  }, async (req, reply) => { await incidents.removeBookmark(req.principal!, req.params.id, req.params.bookmarkId, meta(req)); return reply.code(204).send(null); });

  app.post('/api/incidents/:id/snapshots', {
    config: { access: { roles: INVESTIGATORS }, audit: 'snapshot.take' },
    schema: {
      tags, summary: 'Snapshot for the incident',
      description: 'Without `at`: a live snapshot of the camera; with `at`: the recorded frame at that moment. Linked to the incident, reason `incident:<number>`; audited.',
      params: IncidentParams,
      body: Type.Object({ deviceId: Uuid, at: Type.Optional(Type.String({ format: 'date-time' })) }),
      response: { 201: Type.Object({ snapshot: SnapshotSchema }), ...errors(400, 401, 403, 404, 409, 422, 502, 503, 504) },
    },
  }, async (req, reply) => reply.code(201).send(await incidents.addSnapshot(req.principal!, req.params.id, req.body, meta(req))));

  app.post('/api/incidents/:id/exports', {
    config: { access: { roles: EXPORTERS }, audit: 'export.request' },
    schema: {
      tags, summary: 'Export evidence for the incident',
      description: 'As POST /api/exports, with the incident number as the case number; the export is listed in the incident\'s evidence and timeline.',
      params: IncidentParams,
      body: Type.Object({
        items: Type.Array(Type.Object({ deviceId: Uuid, from: Type.String({ format: 'date-time' }), to: Type.String({ format: 'date-time' }) }), { minItems: 1, maxItems: 64 }),
        reason: Type.String({ minLength: 1, maxLength: 500 }),
        snapshotIds: Type.Optional(Type.Array(Uuid, { maxItems: 50 })),
      }),
      response: { 202: Type.Object({ export: ExportSchema }), ...errors(400, 401, 403, 404, 422) },
    },
  }, async (req, reply) => reply.code(202).send(await incidents.addExport(req.principal!, req.params.id, req.body, meta(req))));
}, { name: 'incidents-routes', dependencies: ['identity-guard'] });
