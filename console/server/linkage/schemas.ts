import { Type } from 'typebox';
import { DateTime, NullableDateTime, StringEnum, Uuid } from '../../../core/http/schemas.ts';
import { CUE_STATUSES, FIX_SOURCES, RING_CODES, UNIT_CUE_STEPS, UNIT_KINDS, UNIT_STATES } from './types.ts';

/** The wire shapes of the linkage API (console/server/linkage/routes.ts and patrol-routes.ts). */
const Nullable = <T extends Parameters<typeof Type.Union>[0][number]>(t: T) => Type.Union([t, Type.Null()]);
export const Lat = Type.Number({ minimum: -90, maximum: 90 });
export const Lon = Type.Number({ minimum: -180, maximum: 180 });
export const LonLatSchema = Type.Tuple([Lon, Lat]);

export const PositionSchema = Type.Object({
  lat: Type.Number(), lon: Type.Number(), heading: Nullable(Type.Number()), speed: Nullable(Type.Number()), at: DateTime, source: StringEnum(FIX_SOURCES),
});

export const UnitSchema = Type.Object({
  id: Uuid,
  callSign: Type.String(),
  kind: StringEnum(UNIT_KINDS),
  state: StringEnum(UNIT_STATES),
  stationId: Nullable(Uuid),
  stationName: Nullable(Type.String()),
  grid: Nullable(Type.Array(LonLatSchema)),
  gridName: Type.String(),
  terminalId: Nullable(Type.String()),
  position: Nullable(PositionSchema),
  stale: Type.Boolean({ description: 'The position is older than linkage.staleSeconds, or there is none' }),
  onDutySince: NullableDateTime,
  members: Type.Array(Type.Object({ userId: Uuid, username: Type.String(), displayName: Type.String(), onDuty: Type.Boolean() })),
  activeCueId: Nullable(Uuid),
  disabled: Type.Boolean(),
  version: Type.Integer(),
  updatedAt: DateTime,
});

export const CueSchema = Type.Object({
  id: Uuid,
  incidentId: Uuid,
  incidentNumber: Type.String(),
  incidentTitle: Type.String(),
  incidentAddress: Type.String(),
  incidentLat: Nullable(Type.Number()),
  incidentLon: Nullable(Type.Number()),
  unitId: Uuid,
  unitCallSign: Type.String(),
  status: StringEnum(CUE_STATUSES),
  message: Type.String(),
  cameraIds: Type.Array(Uuid),
  snapshotId: Nullable(Uuid),
  ring: Nullable(Type.Integer()),
  distanceM: Nullable(Type.Number()),
  createdByName: Type.String(),
  sentAt: DateTime,
  ackDeadline: DateTime,
  receivedAt: NullableDateTime,
  enRouteAt: NullableDateTime,
  onSceneAt: NullableDateTime,
  doneAt: NullableDateTime,
  cancelledAt: NullableDateTime,
  escalatedAt: NullableDateTime,
  report: Type.String(),
  reassignedTo: Nullable(Uuid),
  version: Type.Integer(),
  events: Type.Array(Type.Object({
    at: DateTime, actorName: Type.String(), from: Nullable(StringEnum(CUE_STATUSES)), to: StringEnum(CUE_STATUSES), override: Type.Boolean(), reason: Type.String(),
  })),
  photos: Type.Array(Type.Object({ id: Uuid, bytes: Type.Integer(), sha256: Type.String(), contentType: Type.String(), uploadedAt: DateTime })),
  allowedSteps: Type.Array(StringEnum(CUE_STATUSES), { description: 'For a patrol user: the next step; for a monitor: every step it may force (with a reason when it skips)' }),
});

export const CameraRefSchema = Type.Object({
  id: Uuid, name: Type.String(), cameraType: Nullable(Type.String()), lat: Type.Number(), lon: Type.Number(), status: Type.String(), distanceM: Type.Number(),
});

export const ProposalSchema = Type.Object({
  unit: UnitSchema,
  distanceM: Type.Number(),
  etaSeconds: Nullable(Type.Number({ description: 'Road ETA when a routing service is configured and answered' })),
  alongTheWay: Type.Array(CameraRefSchema),
});

const RingMemberSchema = Type.Object({
  kind: StringEnum(['camera', 'checkpoint', 'unit'] as const), id: Uuid, name: Type.String(), lat: Type.Number(), lon: Type.Number(), distanceM: Type.Number(), state: Type.String(),
});
export const RingSetSchema = Type.Object({
  incidentId: Uuid,
  lat: Type.Number(),
  lon: Type.Number(),
  radiiM: Type.Tuple([Type.Integer(), Type.Integer(), Type.Integer()]),
  active: Type.Boolean(),
  setByName: Type.String(),
  setAt: DateTime,
  rings: Type.Array(Type.Object({
    ring: Type.Integer(), code: StringEnum(RING_CODES), radiusM: Type.Integer(),
    cameras: Type.Array(RingMemberSchema), checkpoints: Type.Array(RingMemberSchema), units: Type.Array(RingMemberSchema),
  })),
});

export const PushSchema = Type.Object({ id: Uuid, unitId: Uuid, deviceId: Uuid, deviceName: Type.String(), cueId: Nullable(Uuid), pushedByName: Type.String(), pushedAt: DateTime });

export const UnitBody = Type.Object({
  callSign: Type.String({ minLength: 1, maxLength: 40 }),
  kind: StringEnum(UNIT_KINDS),
  stationId: Type.Optional(Nullable(Uuid)),
  grid: Type.Optional(Nullable(Type.Array(Type.Array(Type.Number()), { description: '[[lon, lat], …], 3 to 500 points' }))),
  gridName: Type.Optional(Type.String({ maxLength: 60 })),
  memberIds: Type.Optional(Type.Array(Uuid, { maxItems: 20 })),
});
export const UnitPatchBody = Type.Object({
  ...Type.Partial(UnitBody).properties,
  disabled: Type.Optional(Type.Boolean()),
  version: Type.Integer({ description: 'The version you loaded: a newer one answers 409 linkage.unit_stale' }),
});

export const FixSchema = Type.Object({
  at: Type.String({ format: 'date-time', description: 'When the fix was taken (queued fixes arrive late)' }),
  lat: Type.Number(), lon: Type.Number(),
  heading: Type.Optional(Nullable(Type.Number())), speed: Type.Optional(Nullable(Type.Number())), accuracy: Type.Optional(Nullable(Type.Number())),
}, { description: 'Range checks are made per fix so one bad fix does not lose the good ones' });
export const FixesBody = Type.Object({ fixes: Type.Array(FixSchema, { minItems: 1, maxItems: 500 }) });
export const FixesResult = Type.Object({
  accepted: Type.Integer(), duplicates: Type.Integer(),
  rejected: Type.Array(Type.Object({ index: Type.Integer(), code: Type.String(), reason: Type.String() })),
});

export const CueBody = Type.Object({
  unitId: Uuid,
  message: Type.String({ maxLength: 2000, default: '' }),
  cameraIds: Type.Array(Uuid, { maxItems: 16, default: [] }),
  snapshotId: Type.Optional(Nullable(Uuid)),
});
export const ReasonBody = Type.Object({ reason: Type.String({ minLength: 2, maxLength: 500 }) });
export const ReassignBody = Type.Object({ unitId: Uuid, reason: Type.String({ minLength: 2, maxLength: 500 }) });
export const UnitStepBody = Type.Object({
  status: StringEnum(UNIT_CUE_STEPS),
  report: Type.Optional(Type.String({ maxLength: 4000 })),
  lat: Type.Optional(Lat), lon: Type.Optional(Lon),
  version: Type.Optional(Type.Integer()),
});
export const ForceStepBody = Type.Object({ status: StringEnum(UNIT_CUE_STEPS), reason: Type.String({ maxLength: 500, default: '' }) });
export const RingsBody = Type.Object({
  radiiM: Type.Optional(Type.Tuple([Type.Integer({ minimum: 100, maximum: 50_000 }), Type.Integer({ minimum: 100, maximum: 50_000 }), Type.Integer({ minimum: 100, maximum: 50_000 })])),
});
export const RingCueBody = Type.Object({ message: Type.String({ maxLength: 2000, default: '' }), cameraIds: Type.Array(Uuid, { maxItems: 16, default: [] }) });
