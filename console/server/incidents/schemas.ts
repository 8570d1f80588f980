import { Type } from 'typebox';
import { DateTime, NullableDateTime, StringEnum, Uuid } from '../../../core/http/schemas.ts';
import { INCIDENT_SOURCES, INCIDENT_STATUSES } from './types.ts';

/** The wire shapes of the incidents API (console/server/incidents/routes.ts). */
const Nullable = <T extends ReturnType<typeof Type.Number> | ReturnType<typeof Type.String>>(t: T) => Type.Union([t, Type.Null()]);

export const Status = StringEnum(INCIDENT_STATUSES);
export const Source = StringEnum(INCIDENT_SOURCES);
export const Priority = Type.Integer({ minimum: 1, maximum: 4, description: '1 is the most urgent' });
const Lat = Type.Number({ minimum: -90, maximum: 90 });
const Lon = Type.Number({ minimum: -180, maximum: 180 });

export const IncidentSummarySchema = Type.Object({
  id: Uuid,
  number: Type.String({ description: '<prefix><yyyymmdd><sequence>, the day in the site time zone' }),
  type: Type.String(),
  priority: Type.Integer(),
  source: Source,
  status: Status,
  title: Type.String(),
  address: Type.String(),
  lat: Nullable(Type.Number()),
  lon: Nullable(Type.Number()),
  occurredAt: DateTime,
  createdAt: DateTime,
  updatedAt: DateTime,
  createdByName: Type.String(),
  version: Type.Integer({ description: 'Send it back with an edit: a changed incident answers 409 incident.stale' }),
});

export const IncidentSchema = Type.Object({
  ...IncidentSummarySchema.properties,
  description: Type.String(),
  reporterName: Type.String(),
  reporterPhone: Type.String(),
  deviceId: Nullable(Uuid),
  siteId: Nullable(Uuid),
  closedAt: NullableDateTime,
  videoAssisted: Type.Union([Type.Boolean(), Type.Null()], { description: 'Recorded when closed: whether video helped solve it (视频协助破案)' }),
  dispatchedAt: NullableDateTime,
  acknowledgedAt: NullableDateTime,
  enRouteAt: NullableDateTime,
  arrivedAt: NullableDateTime,
  allowedTransitions: Type.Array(Status),
});

export const TimelineEntrySchema = Type.Object({
  id: Type.Integer(),
  at: DateTime,
  actorName: Type.String(),
  kind: Type.String({ description: 'created, updated (details.changes {field: {from, to}}), status (from, to, note), note (text), bookmark.added/removed, holds.released, snapshot.added, export.started, alarm.joined, cameras.searched, camera.viewed' }),
  details: Type.Record(Type.String(), Type.Unknown()),
});

export const BookmarkSchema = Type.Object({
  id: Uuid, incidentId: Uuid, deviceId: Uuid, deviceName: Type.String(), from: DateTime, to: DateTime, note: Type.String(),
  createdByName: Type.String(), createdAt: DateTime,
});

export const ExportSummarySchema = Type.Object({
  id: Uuid, caseNumber: Type.String(), reason: Type.String(), status: Type.String(), requestedByName: Type.String(), requestedAt: DateTime,
  finishedAt: NullableDateTime, bytes: Type.Union([Type.Number(), Type.Null()]),
  items: Type.Array(Type.Object({ deviceId: Uuid, from: Type.String(), to: Type.String() })),
});

/**
 * A number or null as one JSON type list: with a union, ajv's type coercion turns null into 0
 * (or 0 into null) before the right branch is tried.
 */
const NullableNumber = (minimum: number, maximum: number) => Type.Unsafe<number | null>({ type: ['number', 'null'], minimum, maximum });
const LongText = (max: number) => Type.String({ maxLength: max });
const Editable = {
  type: Type.String({ minLength: 1, maxLength: 40, description: 'a code of the type catalogue (GET /api/incidents/catalogue)' }),
  priority: Priority,
  title: Type.String({ minLength: 1, maxLength: 10_000 }),
  description: LongText(50_000),
  address: LongText(10_000),
  lat: NullableNumber(-90, 90),
  lon: NullableNumber(-180, 180),
  occurredAt: Type.String({ format: 'date-time' }),
  reporterName: LongText(200),
  reporterPhone: LongText(40),
  deviceId: Type.Unsafe<string | null>({ type: ['string', 'null'], format: 'uuid' }),
};

export const CreateIncidentBody = Type.Object({
  type: Editable.type,
  priority: Type.Optional(Editable.priority),
  source: Source,
  title: Editable.title,
  description: Type.Optional(Editable.description),
  address: Type.Optional(Editable.address),
  lat: Type.Optional(Editable.lat),
  lon: Type.Optional(Editable.lon),
  occurredAt: Type.Optional(Editable.occurredAt),
  reporterName: Type.Optional(Editable.reporterName),
  reporterPhone: Type.Optional(Editable.reporterPhone),
  deviceId: Type.Optional(Editable.deviceId),
});

export const PatchIncidentBody = Type.Object({
  version: Type.Integer({ minimum: 1 }),
  type: Type.Optional(Editable.type),
  priority: Type.Optional(Editable.priority),
  source: Type.Optional(Source),
  title: Type.Optional(Editable.title),
  description: Type.Optional(Editable.description),
  address: Type.Optional(Editable.address),
  lat: Type.Optional(Editable.lat),
  lon: Type.Optional(Editable.lon),
  occurredAt: Type.Optional(Editable.occurredAt),
  reporterName: Type.Optional(Editable.reporterName),
  reporterPhone: Type.Optional(Editable.reporterPhone),
  deviceId: Type.Optional(Editable.deviceId),
});

export const StatusBody = Type.Object({
  version: Type.Integer({ minimum: 1 }),
  status: Status,
  note: Type.Optional(Type.String({ maxLength: 2000 })),
  videoAssisted: Type.Optional(Type.Boolean({ description: 'Closing only: whether video helped solve it (视频协助破案), for the statistics' })),
});

export const ListQuerySchema = Type.Object({
  status: Type.Optional(Type.String({ maxLength: 200, description: 'comma-separated statuses; `open` = new, dispatched, on_scene, resolved' })),
  type: Type.Optional(Type.String({ maxLength: 40 })),
  priority: Type.Optional(Priority),
  source: Type.Optional(Source),
  from: Type.Optional(Type.String({ format: 'date-time', description: 'occurred at or after' })),
  to: Type.Optional(Type.String({ format: 'date-time', description: 'occurred before' })),
  q: Type.Optional(Type.String({ maxLength: 200, description: 'text in the number, title, description or address (3 characters or more use the trigram index)' })),
  minLat: Type.Optional(Lat), minLon: Type.Optional(Lon), maxLat: Type.Optional(Lat), maxLon: Type.Optional(Lon),
  limit: Type.Integer({ minimum: 1, maximum: 200, default: 50 }),
  cursor: Type.Optional(Type.String({ maxLength: 200 })),
});

export const CatalogueSchema = Type.Object({
  types: Type.Array(Type.Object({ code: Type.String(), zh: Type.String(), en: Type.String() })),
  sources: Type.Array(Source),
  statuses: Type.Array(Status),
  priorities: Type.Array(Type.Integer()),
  transitions: Type.Record(Type.String(), Type.Array(Status)),
  nearbyRadiusMeters: Type.Integer(),
  maxRadiusMeters: Type.Integer(),
  /** Footage search limits (config search.*), so the web app checks what the server will. */
  searchMaxRangeDays: Type.Integer(),
  searchMaxCameras: Type.Integer(),
});

export const IncidentParams = Type.Object({ id: Uuid });
export const BookmarkParams = Type.Object({ id: Uuid, bookmarkId: Uuid });
