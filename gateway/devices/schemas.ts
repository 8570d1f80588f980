import { Type, type TSchema } from 'typebox';
import { CAMERA_TYPES, DEVICE_KINDS, DEVICE_STATES, RECORDING_MODES } from './types.ts';

import { DateTime, NullableDateTime, StringEnum } from '../../core/http/schemas.ts';

const lit = StringEnum;
const Nullable = <T extends TSchema>(t: T) => Type.Union([t, Type.Null()]);
const Time = NullableDateTime;

export const Kind = lit(DEVICE_KINDS);
export const CameraType = lit(CAMERA_TYPES);
export const State = lit(DEVICE_STATES);

export const Profile = Type.Object({
  token: Type.String({ maxLength: 100 }), name: Type.String({ maxLength: 100 }), encoding: Type.String({ maxLength: 20 }),
  width: Type.Integer({ minimum: 0, maximum: 16384 }), height: Type.Integer({ minimum: 0, maximum: 16384 }),
  fps: Type.Optional(Type.Number()), gop: Type.Optional(Type.Integer({ minimum: 1, maximum: 100_000, description: 'Keyframe interval in frames (ONVIF GovLength).' })), rtspUri: Type.Optional(Type.String({ maxLength: 2048 })), snapshotUri: Type.Optional(Type.String({ maxLength: 2048 })),
});

export const DeviceSchema = Type.Object({
  id: Type.String(), kind: Kind, cameraType: Nullable(CameraType), name: Type.String(), code: Nullable(Type.String()),
  siteId: Nullable(Type.String()), siteName: Nullable(Type.String()), address: Nullable(Type.String()),
  location: Nullable(Type.Object({ lat: Type.Number(), lon: Type.Number(), heading: Nullable(Type.Number()) })),
  tags: Type.Array(Type.String()),
  onvif: Nullable(Type.Object({ host: Type.String(), port: Type.Integer(), username: Nullable(Type.String()), hasPassword: Type.Boolean() })),
  streams: Type.Object({ main: Nullable(Type.String()), sub: Nullable(Type.String()), snapshot: Nullable(Type.String()) }),
  profiles: Type.Array(Profile),
  vendor: Nullable(Type.String()), model: Nullable(Type.String()), serial: Nullable(Type.String()), firmware: Nullable(Type.String()),
  ptz: Type.Boolean(),
  recording: Type.Object({ mode: lit(RECORDING_MODES), retentionDays: Type.Integer() }),
  streamKey: Nullable(Type.String({ description: 'RTMP stream key of a mobile camera: only in the answer that created or rotated it (admins); stored as a hash, shown once.' })),
  hasStreamKey: Type.Boolean(),
  enabled: Type.Boolean(),
  status: Type.Object({ state: State, reason: Nullable(Type.String()), lastSeenAt: Time, checkedAt: Time }),
  createdAt: DateTime, updatedAt: DateTime,
  decommissionedAt: Time,
}, { $id: 'Device' });

const Str = (max: number) => Type.String({ maxLength: max });

/** Create and update bodies: every field optional on update, `name` required on create. */
export const DeviceInputSchema = Type.Object({
  kind: Type.Optional(Kind),
  cameraType: Type.Optional(Nullable(CameraType)),
  name: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
  code: Type.Optional(Nullable(Str(64))),
  siteId: Type.Optional(Nullable(Type.String({ format: 'uuid' }))),
  address: Type.Optional(Nullable(Str(200))),
  location: Type.Optional(Nullable(Type.Object({
    lat: Type.Number({ minimum: -90, maximum: 90 }), lon: Type.Number({ minimum: -180, maximum: 180 }),
    heading: Type.Optional(Nullable(Type.Number({ minimum: 0, exclusiveMaximum: 360 }))),
  }))),
  tags: Type.Optional(Type.Array(Str(50), { maxItems: 50 })),
  onvif: Type.Optional(Nullable(Type.Object({
    host: Type.String({ minLength: 1, maxLength: 253 }), port: Type.Optional(Type.Integer({ minimum: 1, maximum: 65535 })),
    username: Type.Optional(Nullable(Str(128))), password: Type.Optional(Nullable(Str(256))),
  }))),
  streams: Type.Optional(Type.Object({
    main: Type.Optional(Nullable(Str(2048))), sub: Type.Optional(Nullable(Str(2048))), snapshot: Type.Optional(Nullable(Str(2048))),
  })),
  profiles: Type.Optional(Type.Array(Profile, { maxItems: 16 })),
  vendor: Type.Optional(Nullable(Str(200))), model: Type.Optional(Nullable(Str(200))),
  serial: Type.Optional(Nullable(Str(200))), firmware: Type.Optional(Nullable(Str(200))),
  ptz: Type.Optional(Type.Boolean()),
  recording: Type.Optional(Type.Object({
    mode: Type.Optional(lit(RECORDING_MODES)), retentionDays: Type.Optional(Type.Integer({ minimum: 1, maximum: 3650 })),
  })),
  enabled: Type.Optional(Type.Boolean()),
  confirmDuplicate: Type.Optional(Type.Boolean({ description: 'Register (or change to) an ONVIF endpoint, serial or stream URL another device already has.' })),
});

export const DeviceListQuery = Type.Object({
  q: Type.Optional(Type.String({ maxLength: 100 })),
  kind: Type.Optional(Kind),
  cameraType: Type.Optional(CameraType),
  siteId: Type.Optional(Type.String({ format: 'uuid' })),
  status: Type.Optional(State),
  tag: Type.Optional(Type.String({ maxLength: 50 })),
  enabled: Type.Optional(Type.Boolean()),
  page: Type.Integer({ minimum: 1, maximum: 100_000, default: 1 }),
  pageSize: Type.Integer({ minimum: 1, maximum: 500, default: 20 }),
  sort: Type.Union([Type.Literal('name'), Type.Literal('code'), Type.Literal('status'), Type.Literal('updatedAt')], { default: 'name' }),
  order: Type.Union([Type.Literal('asc'), Type.Literal('desc')], { default: 'asc' }),
  locale: Type.Optional(lit(['zh-CN', 'en'] as const, { description: 'How names sort: by pinyin in zh-CN. Default: Accept-Language, else zh-CN.' })),
});

export const CsvRefusalSchema = Type.Object({
  row: Type.Integer({ description: 'As a spreadsheet numbers it: the header is row 1; 0 for the file as a whole.' }),
  field: Nullable(Type.String({ description: 'The column, as the file names it.' })),
  code: Type.String(),
  params: Type.Record(Type.String(), Type.Union([Type.String(), Type.Number(), Type.Boolean(), Type.Null()])),
  reason: Type.String({ description: 'English wording.' }),
});

export const ImportReportSchema = Type.Object({
  applied: Type.Boolean({ description: 'False when any row was refused: then nothing was written.' }),
  rows: Type.Integer(), created: Type.Integer(), updated: Type.Integer(),
  refused: Type.Array(CsvRefusalSchema),
});

export const SiteSchema = Type.Object({
  id: Type.String(), code: Type.String(), name: Type.String(), kind: Type.String(), parentId: Nullable(Type.String()),
  lat: Nullable(Type.Number()), lon: Nullable(Type.Number()), timezone: Type.String(),
});
