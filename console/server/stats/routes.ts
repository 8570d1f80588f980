import { Type } from 'typebox';
import fp from 'fastify-plugin';
import type { FastifyReply } from 'fastify';
import type { App } from '../../../core/http/app.ts';
import { DateTime, errors, StringEnum, Uuid } from '../../../core/http/schemas.ts';
import type { Role } from '../../../core/identity/types.ts';
import type { ConsoleContext } from '../context.ts';
import { createStatsService, type CsvFile } from './service.ts';
import { RESPONSE_GROUPS, STATS_LANGS } from './types.ts';

/** Who reads the statistics and the daily brief: supervisors (and admins). The web app's STATS_ROLES is the same. */
export const STATS_VIEWERS: readonly Role[] = ['admin', 'supervisor'];

const tags = ['stats'];
const Nullable = <T extends Parameters<typeof Type.Union>[0][number]>(t: T) => Type.Union([t, Type.Null()]);
const Rate = Nullable(Type.Number({ description: 'a share from 0 to 1; null when there is nothing to divide by' }));
const Count = Type.Integer({ minimum: 0 });

const TimeText = (description: string) => Type.String({ minLength: 1, maxLength: 40, description });
const FROM = 'Start (inclusive): YYYY-MM-DD (the site-local midnight), a site-local YYYY-MM-DDTHH:mm[:ss], or a date-time with Z or an offset.';
const TO = 'End (exclusive), written as `from`. At most 366 days after `from`.';
const Output = {
  format: Type.Optional(StringEnum(['json', 'csv'] as const, { description: 'csv: a UTF-8 CSV file with a byte-order mark (Excel reads the Chinese right), as an attachment.' })),
  lang: Type.Optional(StringEnum(STATS_LANGS, { description: 'Language of the CSV header and labels (default zh-CN).' })),
};
const Narrowing = {
  siteId: Type.Optional(Type.String({ format: 'uuid', description: 'Only this site and the sites below it; the breakdown by area is then one level below it.' })),
  type: Type.Optional(Type.String({ maxLength: 40, description: 'Only this incident type (a catalogue code).' })),
};

const PeriodCountSchema = Type.Object({ from: DateTime, to: DateTime, count: Count });
const TypeCountSchema = Type.Object({ type: Type.String(), count: Count, previous: Count, lastYear: Count });
const SiteKind = Nullable(StringEnum(['platform', 'area', 'station'] as const));
const Itself = Type.Boolean({ description: 'the level\'s own site: what is attached to it directly, not below it' });
const AreaCountSchema = Type.Object({ siteId: Nullable(Uuid), name: Type.String(), kind: SiteKind, itself: Itself, count: Count });

const IncidentStatsSchema = Type.Object({
  timeZone: Type.String(), from: DateTime, to: DateTime, siteId: Nullable(Uuid), type: Nullable(Type.String()),
  totals: Type.Object({
    count: Count,
    previous: PeriodCountSchema,
    lastYear: PeriodCountSchema,
    previousChange: Nullable(Type.Number({ description: '环比: (count − previous) ÷ previous' })),
    lastYearChange: Nullable(Type.Number({ description: '同比: (count − lastYear) ÷ lastYear' })),
    closed: Count, videoAssisted: Count, videoAssistedRate: Rate,
  }),
  byType: Type.Array(TypeCountSchema),
  byArea: Type.Array(AreaCountSchema),
  byGrid: Type.Array(Type.Object({ unitId: Nullable(Uuid), callSign: Type.String(), gridName: Type.String(), count: Count })),
  byHour: Type.Array(Count, { minItems: 24, maxItems: 24, description: 'site-local hour 0–23' }),
  byWeekday: Type.Array(Count, { minItems: 7, maxItems: 7, description: 'site-local weekday, 0 Monday … 6 Sunday' }),
  bySource: Type.Array(Type.Object({ source: Type.String(), count: Count })),
});

const Spread = Type.Object({ median: Nullable(Type.Number()), p90: Nullable(Type.Number()) });
const ResponseGroupSchema = Type.Object({
  key: Nullable(Type.String({ description: 'site id, unit id, shift (day, evening, night) or type code; null: no site / the total' })),
  label: Type.String(),
  itself: Itself,
  dispatched: Count, arrived: Count,
  within: Type.Array(Count, { description: 'arrivals within each target, in the order of targetsSeconds' }),
  withinRate: Type.Array(Rate, { description: 'within ÷ dispatched, per target' }),
  response: Spread, dispatch: Spread, travel: Spread,
});
const ResponseStatsSchema = Type.Object({
  timeZone: Type.String(), from: DateTime, to: DateTime, siteId: Nullable(Uuid), type: Nullable(Type.String()),
  groupBy: StringEnum(RESPONSE_GROUPS), targetsSeconds: Type.Array(Type.Integer()),
  total: ResponseGroupSchema, groups: Type.Array(ResponseGroupSchema),
});

const DeviceAreaSchema = Type.Object({
  siteId: Nullable(Uuid), name: Type.String(), kind: SiteKind, itself: Itself,
  cameras: Count, online: Count, degraded: Count, offline: Count, unknown: Count, onlineRate: Rate,
  recordingCameras: Count, recordedSeconds: Type.Number(), expectedSeconds: Type.Number(), recordingCompleteness: Rate,
});
const DeviceStatsSchema = Type.Object({
  timeZone: Type.String(), at: DateTime, from: DateTime, to: DateTime, siteId: Nullable(Uuid),
  total: DeviceAreaSchema, byArea: Type.Array(DeviceAreaSchema),
});

const DailyBriefSchema = Type.Object({
  timeZone: Type.String(), date: Type.String(), from: DateTime, to: DateTime, generatedAt: DateTime,
  totals: Type.Object({
    count: Count,
    previousDay: Type.Object({ date: Type.String(), count: Count }),
    lastYear: Type.Object({ date: Type.String(), count: Count }),
    previousDayChange: Nullable(Type.Number()), lastYearChange: Nullable(Type.Number()),
    closed: Count, videoAssisted: Count,
  }),
  byType: Type.Array(TypeCountSchema),
  byArea: Type.Array(AreaCountSchema),
  response: Type.Object({ targetsSeconds: Type.Array(Type.Integer()), total: ResponseGroupSchema }),
  notable: Type.Array(Type.Object({
    id: Uuid, number: Type.String(), type: Type.String(), priority: Type.Integer(), status: Type.String(), title: Type.String(), address: Type.String(),
    siteName: Nullable(Type.String()), occurredAt: DateTime, responseSeconds: Nullable(Type.Number()),
  })),
  notableMore: Count,
  devices: Type.Object({ at: DateTime, total: DeviceAreaSchema, byArea: Type.Array(DeviceAreaSchema) }),
});

const CSV_NOTE = ' With `format=csv`: the same figures as a CSV attachment (text/csv; charset=utf-8, byte-order mark, header in `lang`).';

/** A CSV answer: the file as bytes (no JSON serialisation), as an attachment. */
function sendCsv(reply: FastifyReply, file: CsvFile) {
  return reply
    .header('content-type', 'text/csv; charset=utf-8')
    .header('content-disposition', `attachment; filename="${file.filename}"`)
    .header('cache-control', 'no-store')
    .send(Buffer.from(file.body, 'utf8'));
}

/**
 * Statistics (警情分析) and the daily brief (每日警情): read-only figures over the incidents,
 * cues, cameras and recordings, for supervisors (STATS_VIEWERS). Every route also answers CSV.
 */
export const statsRoutes = fp(async (app: App, opts: { ctx: ConsoleContext }) => {
  const stats = createStatsService({ platform: opts.ctx.platform });
  const access = { roles: STATS_VIEWERS };

  app.get('/api/stats/incidents', {
    config: { access },
    schema: {
      tags, summary: 'Incident statistics',
      description: 'Incidents that occurred in [from, to): the total with 环比 (the period of equal length just before) and 同比 (the same '
        + 'site-local range a year earlier), by type (with both comparisons), by area (one level below `siteId`, or below the top-level '
        + 'site, sub-sites rolled up), by grid (责任田 unit), by site-local hour and weekday, by source, and closed incidents solved with '
        + 'video. 400 stats.bad_date, stats.range_order, stats.range_too_long (field `to`), stats.type_unknown, stats.site_unknown.' + CSV_NOTE,
      querystring: Type.Object({ from: TimeText(FROM), to: TimeText(TO), ...Narrowing, ...Output }),
      response: { 200: IncidentStatsSchema, ...errors(400, 401, 403) },
    },
  }, async (req, reply) => {
    const { format, lang, ...q } = req.query;
    if (format === 'csv') return sendCsv(reply, await stats.incidentsCsv(q, lang ?? 'zh-CN'));
    return stats.incidents(q);
  });

  app.get('/api/stats/response', {
    config: { access },
    schema: {
      tags, summary: 'Response times',
      description: 'Dispatched incidents that occurred in [from, to), grouped by area, shift (site-local hour of entry: 08–16 day, 16–24 '
        + 'evening, 00–08 night) or type: how many were dispatched and arrived, arrivals within each rapid-response target '
        + '(linkage.responseTargetsSeconds) counted from entry (created), and the median and 90th percentile of response (arrival − entry), '
        + 'dispatch (first cue − entry) and travel (arrival − first cue) seconds. By unit: each cue sent for those incidents, response '
        + '= on scene − sent, dispatch = received − sent, travel = on scene − en route.' + CSV_NOTE,
      querystring: Type.Object({
        from: TimeText(FROM), to: TimeText(TO), groupBy: StringEnum(RESPONSE_GROUPS, { default: 'area' }), ...Narrowing, ...Output,
      }),
      response: { 200: ResponseStatsSchema, ...errors(400, 401, 403) },
    },
  }, async (req, reply) => {
    const { format, lang, ...q } = req.query;
    if (format === 'csv') return sendCsv(reply, await stats.responseCsv(q, lang ?? 'zh-CN'));
    return stats.response(q);
  });

  app.get('/api/stats/devices', {
    config: { access },
    schema: {
      tags, summary: 'Camera online rate and recording completeness',
      description: 'Cameras in service (enabled, registered and not decommissioned at `at`) by area: their status at `at` (default now: '
        + 'the live status; earlier: the last status change by then), the online rate (online ÷ cameras), and for cameras recording '
        + 'continuously the seconds recorded in [from, to) over the seconds expected (capped at 100 % per camera). `to` defaults to `at`, '
        + '`from` to 24 hours before `to`.' + CSV_NOTE,
      querystring: Type.Object({
        at: Type.Optional(TimeText('The moment the status is read at, written as `from`.')),
        from: Type.Optional(TimeText(FROM)), to: Type.Optional(TimeText(TO)),
        siteId: Narrowing.siteId, ...Output,
      }),
      response: { 200: DeviceStatsSchema, ...errors(400, 401, 403) },
    },
  }, async (req, reply) => {
    const { format, lang, ...q } = req.query;
    if (format === 'csv') return sendCsv(reply, await stats.devicesCsv(q, lang ?? 'zh-CN'));
    return stats.devices(q);
  });

  app.get('/api/stats/daily-brief', {
    config: { access },
    schema: {
      tags, summary: 'Daily brief (每日警情)',
      description: 'One site-local day (default yesterday): incidents against the day before and the same day last year, by type and area, '
        + 'response-target compliance, the notable incidents (priority 1–2, at most 50; `notableMore` tells how many beyond) and the '
        + 'cameras\' online rate and recording completeness over the day. 400 stats.bad_date, stats.date_future.' + CSV_NOTE,
      querystring: Type.Object({
        date: Type.Optional(Type.String({ maxLength: 10, description: 'YYYY-MM-DD, a site-local day; not after today' })),
        siteId: Narrowing.siteId, ...Output,
      }),
      response: { 200: DailyBriefSchema, ...errors(400, 401, 403) },
    },
  }, async (req, reply) => {
    const { format, lang, ...q } = req.query;
    if (format === 'csv') return sendCsv(reply, await stats.dailyBriefCsv(q, lang ?? 'zh-CN'));
    return stats.dailyBrief(q);
  });
}, { name: 'stats-routes', dependencies: ['identity-guard'] });
