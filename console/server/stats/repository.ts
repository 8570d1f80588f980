import type { Queryable } from '../../../core/db/pool.ts';
import { MAX_SEGMENT_MS } from '../../../gateway/recordings/repository.ts';
import type { IncidentSource } from '../incidents/types.ts';
import { scanGroups } from './periods.ts';
import type { BreakdownRow, CompareCounts, DeviceSiteRow, NotableIncident, Period, ResponseGroupBy, ResponseRow, SiteNode } from './types.ts';

/**
 * The statistics' reads (SQL only). Incidents are selected by `occurred_at` in [from, to), which
 * every query reads through incidents_stats_idx (migration 012: occurred_at with the grouped
 * columns included), so a year of incidents is one index-only range scan.
 */

/** Incidents narrowed to a site's subtree and a type, `i` the incidents alias; pushes its arguments. */
function narrowing(f: { scope: string[] | null; type: string | null }, args: unknown[]): string {
  const clauses: string[] = [];
  if (f.scope) { args.push(f.scope); clauses.push(`i.site_id = ANY($${args.length}::uuid[])`); }
  if (f.type) { args.push(f.type); clauses.push(`i.type = $${args.length}`); }
  return clauses.map((c) => ` AND ${c}`).join('');
}

/**
 * Occurrence times are counted in 15-minute bins of UTC (every time zone's offset is a whole
 * number of quarter hours, so no bin straddles a local hour); the few thousand bins are then
 * turned into site-local weekday and hour. Far cheaper than AT TIME ZONE on every row.
 */
const BIN = `date_bin('15 minutes', i.occurred_at, TIMESTAMPTZ '2000-01-03 00:00:00+00')`;

/** Seconds from `earlier` to `later`, never negative; null when either is (greatest() alone would make that 0). */
const SECONDS = (later: string, earlier: string) =>
  `(CASE WHEN ${later} IS NOT NULL AND ${earlier} IS NOT NULL THEN greatest(0, extract(epoch FROM ${later} - ${earlier})) END)::float8`;

const NUM = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v));
/** `percentile_cont(ARRAY[0.5, 0.9])`: null over no rows, else [median, p90] with nulls when every value was null. */
const spread = (v: unknown) => { const a = v as (number | null)[] | null; return { median: ms(a?.[0]), p90: ms(a?.[1]) }; };
/** Seconds to the millisecond (no float noise of the interpolation). */
const ms = (v: unknown) => { const n = NUM(v); return n === null ? null : Math.round(n * 1000) / 1000; };

export function createStatsRepository(db: Queryable) {
  return {
    /** The whole area tree (a few hundred rows at most). */
    async sites(): Promise<SiteNode[]> {
      const { rows } = await db.query<SiteNode>(`SELECT id, parent_id AS "parentId", code, name, kind FROM sites ORDER BY code, id`);
      return rows;
    },

    /** Patrol units by id: call sign and grid (责任田) name. */
    async units(ids: readonly string[]): Promise<{ id: string; callSign: string; gridName: string }[]> {
      if (ids.length === 0) return [];
      const { rows } = await db.query<{ id: string; callSign: string; gridName: string }>(
        `SELECT id, call_sign AS "callSign", grid_name AS "gridName" FROM patrol_units WHERE id = ANY($1::uuid[])`, [ids]);
      return rows;
    },

    /**
     * The period's incidents in one pass, as three grouping sets: (type, site, source, closed,
     * video-assisted), (grid unit) and (15-minute bin → local weekday and hour). Run it inside a
     * transaction: it raises work_mem for that transaction only, because the planner cannot know
     * how few bins there are and would otherwise sort a year of rows instead of hashing them.
     */
    async breakdown(period: Period, f: { scope: string[] | null; type: string | null }, timeZone: string): Promise<BreakdownRow[]> {
      await db.query(`SELECT set_config('work_mem', '64MB', true)`);
      const args: unknown[] = [period.from, period.to, timeZone];
      const where = narrowing(f, args);
      const { rows } = await db.query<{
        g: number; type: string | null; site_id: string | null; source: IncidentSource | null; closed: boolean | null; va: boolean | null;
        unit_id: string | null; weekday: number | null; hour: number | null; n: number;
      }>(
        `WITH agg AS MATERIALIZED (
           SELECT GROUPING(grid_unit_id, bin) AS g, type, site_id, source, closed, va, grid_unit_id, bin, count(*)::int AS n
             FROM (SELECT i.type, i.site_id, i.source, i.status = 'closed' AS closed, (i.status = 'closed' AND i.video_assisted IS TRUE) AS va,
                          i.grid_unit_id, ${BIN} AS bin
                     FROM incidents i WHERE i.occurred_at >= $1 AND i.occurred_at < $2${where}) x
            GROUP BY GROUPING SETS ((type, site_id, source, closed, va), (grid_unit_id), (bin))
         )
         SELECT g, type, site_id, source, closed, va, grid_unit_id AS unit_id, NULL::int AS weekday, NULL::int AS hour, n FROM agg WHERE g <> 2
         UNION ALL
         SELECT 2, NULL, NULL, NULL, NULL, NULL, NULL,
                extract(isodow FROM bin AT TIME ZONE $3)::int - 1, extract(hour FROM bin AT TIME ZONE $3)::int, sum(n)::int
           FROM agg WHERE g = 2 GROUP BY 8, 9`,
        args,
      );
      return rows.map((r): BreakdownRow => {
        if (r.g === 1) return { set: 'grid', unitId: r.unit_id, count: r.n };
        if (r.g === 2) return { set: 'time', weekday: r.weekday!, hour: r.hour!, count: r.n };
        return { set: 'main', type: r.type!, siteId: r.site_id, source: r.source!, closed: r.closed!, videoAssisted: r.va!, count: r.n };
      });
    },

    /**
     * Counts by type in each of `periods` (the comparison periods), in their order. Periods that
     * overlap or touch are read in one scan of their union (a year's 环比 and 同比 nearly coincide),
     * each counted by its own FILTER.
     */
    async countsByType(periods: readonly Period[], f: { scope: string[] | null; type: string | null }): Promise<CompareCounts[]> {
      if (periods.length === 0) return [];
      const args: unknown[] = [];
      const where = narrowing(f, args);
      const arg = (v: unknown) => { args.push(v); return `$${args.length}`; };
      const parts = scanGroups(periods).map((g) => {
        const bounds = g.members.map((k) => [arg(periods[k]!.from), arg(periods[k]!.to)] as const);
        const from = arg(g.from);
        const to = arg(g.to);
        const counts = g.members.map((k, j) => `count(*) FILTER (WHERE i.occurred_at >= ${bounds[j]![0]} AND i.occurred_at < ${bounds[j]![1]})::int AS "${k}"`);
        return `SELECT i.type, json_build_object(${g.members.map((k) => `'${k}', "${k}"`).join(', ')}) AS n FROM (
                  SELECT i.type, ${counts.join(', ')} FROM incidents i
                   WHERE i.occurred_at >= ${from} AND i.occurred_at < ${to}${where} GROUP BY i.type) i`;
      });
      const { rows } = await db.query<{ type: string; n: Record<string, number> }>(parts.join(' UNION ALL '), args);
      const out: CompareCounts[] = periods.map(() => ({ count: 0, byType: new Map() }));
      for (const r of rows) {
        for (const [k, n] of Object.entries(r.n)) {
          if (n === 0) continue;
          const c = out[Number(k)]!;
          c.count += n;
          c.byType.set(r.type, (c.byType.get(r.type) ?? 0) + n);
        }
      }
      return out;
    },

    /**
     * Response figures of the period's dispatched incidents (or, by unit, of the cues sent for
     * them), grouped, with the total as the row whose key is `'*'`. Area groups come from
     * `members` (site → group, parallel arrays); incidents with no site have key null.
     */
    async response(period: Period, f: { scope: string[] | null; type: string | null }, o: {
      groupBy: ResponseGroupBy; targets: readonly number[]; timeZone: string; members: { siteIds: string[]; groupIds: string[] };
    }): Promise<ResponseRow[]> {
      const args: unknown[] = [period.from, period.to];
      let where = narrowing(f, args);
      const arg = (v: unknown) => { args.push(v); return `$${args.length}`; };
      const targets = o.targets.map((t) => arg(t));
      let from: string;
      let key: string;
      let response: string;
      let dispatch: string;
      let travel: string;
      let arrived: string;
      if (o.groupBy === 'unit') {
        from = `cues c JOIN incidents i ON i.id = c.incident_id`;
        key = 'c.unit_id::text';
        response = SECONDS('c.on_scene_at', 'c.sent_at');
        dispatch = SECONDS('c.received_at', 'c.sent_at');
        travel = SECONDS('c.on_scene_at', 'coalesce(c.en_route_at, c.received_at, c.sent_at)');
        arrived = 'c.on_scene_at';
      } else {
        from = 'incidents i';
        response = SECONDS('i.arrived_at', 'i.created_at');
        dispatch = SECONDS('i.dispatched_at', 'i.created_at');
        travel = SECONDS('i.arrived_at', 'i.dispatched_at');
        arrived = 'i.arrived_at';
        if (o.groupBy === 'type') key = 'i.type';
        else if (o.groupBy === 'shift') {
          const hour = `extract(hour FROM i.created_at AT TIME ZONE ${arg(o.timeZone)})`;
          key = `CASE WHEN ${hour} >= 8 AND ${hour} < 16 THEN 'day' WHEN ${hour} >= 16 THEN 'evening' ELSE 'night' END`;
        } else {
          from = `incidents i LEFT JOIN unnest(${arg(o.members.siteIds)}::uuid[], ${arg(o.members.groupIds)}::uuid[]) AS m(site_id, group_id) ON m.site_id = i.site_id`;
          key = 'm.group_id::text';
        }
        where += ' AND i.dispatched_at IS NOT NULL';
      }
      // One sort per measure gives both quantiles.
      const pct = (v: string) => `percentile_cont(ARRAY[0.5, 0.9]) WITHIN GROUP (ORDER BY ${v})`;
      const { rows } = await db.query<Record<string, unknown>>(
        `SELECT CASE WHEN GROUPING(key) = 1 THEN '*' ELSE key END AS key, count(*)::int AS dispatched, count(arrived)::int AS arrived,
                ${targets.map((t, k) => `count(*) FILTER (WHERE response <= ${t})::int AS w${k}`).join(', ')},
                ${pct('response')} AS r, ${pct('dispatch')} AS d, ${pct('travel')} AS t
           FROM (SELECT ${key} AS key, ${arrived} AS arrived, ${response} AS response, ${dispatch} AS dispatch, ${travel} AS travel
                   FROM ${from} WHERE i.occurred_at >= $1 AND i.occurred_at < $2${where}) x
          GROUP BY GROUPING SETS ((key), ())`,
        args,
      );
      return rows.map((r) => ({
        key: r.key as string | null,
        dispatched: r.dispatched as number,
        arrived: r.arrived as number,
        within: targets.map((_, k) => r[`w${k}`] as number),
        response: spread(r.r), dispatch: spread(r.d), travel: spread(r.t),
      }));
    },

    /**
     * Cameras per site at `at` (in service then: registered, not decommissioned, enabled), by their
     * status then — the status column itself when `live`, else the last status change at or
     * before `at` (none: unknown) — and, for the cameras recording continuously, the seconds
     * recorded in [from, to) (each camera's part from its registration, capped at what it could
     * have recorded) and the seconds expected.
     */
    async devices(o: { at: Date; live: boolean; period: Period; scope: string[] | null }): Promise<DeviceSiteRow[]> {
      const args: unknown[] = [o.at, o.live, o.period.from, o.period.to];
      let where = '';
      if (o.scope) { args.push(o.scope); where = ` AND d.site_id = ANY($${args.length}::uuid[])`; }
      const { rows } = await db.query<DeviceSiteRow>(
        `WITH cams AS (
           SELECT d.id, d.site_id, d.recording_mode,
                  CASE WHEN $2::boolean THEN d.status
                       ELSE coalesce((SELECT e.status FROM device_status_events e WHERE e.device_id = d.id AND e.at <= $1
                                       ORDER BY e.at DESC, e.id DESC LIMIT 1), 'unknown') END AS status,
                  greatest(d.created_at, $3::timestamptz) AS since
             FROM devices d
            WHERE d.kind = 'camera' AND d.enabled AND d.created_at <= $1 AND (d.decommissioned_at IS NULL OR d.decommissioned_at > $1)${where}
         ), rec AS (
           SELECT c.id, extract(epoch FROM $4::timestamptz - c.since)::float8 AS expected,
                  least(extract(epoch FROM $4::timestamptz - c.since)::float8, coalesce((
                    SELECT sum(extract(epoch FROM least(s.ends_at, $4::timestamptz) - greatest(s.starts_at, c.since)))::float8
                      FROM recording_segments s
                     WHERE s.device_id = c.id AND s.starts_at < $4::timestamptz
                       AND s.starts_at > c.since - make_interval(secs => ${MAX_SEGMENT_MS / 1000}) AND s.ends_at > c.since), 0)) AS recorded
             FROM cams c WHERE c.recording_mode = 'continuous' AND c.since < $4::timestamptz
         )
         SELECT c.site_id AS "siteId", count(*)::int AS cameras,
                count(*) FILTER (WHERE c.status = 'online')::int AS online, count(*) FILTER (WHERE c.status = 'degraded')::int AS degraded,
                count(*) FILTER (WHERE c.status = 'offline')::int AS offline, count(*) FILTER (WHERE c.status = 'unknown')::int AS unknown,
                count(r.id)::int AS "recordingCameras", coalesce(sum(r.recorded), 0)::float8 AS "recordedSeconds",
                coalesce(sum(r.expected), 0)::float8 AS "expectedSeconds"
           FROM cams c LEFT JOIN rec r ON r.id = c.id
          GROUP BY c.site_id`,
        args,
      );
      return rows;
    },

    /** The period's incidents of priority 1–2 (most urgent first, then by time), up to `limit`, and how many there are. */
    async notable(period: Period, f: { scope: string[] | null; type: string | null }, limit: number): Promise<{ items: NotableIncident[]; total: number }> {
      const args: unknown[] = [period.from, period.to];
      const where = narrowing(f, args);
      args.push(limit);
      const { rows } = await db.query<NotableIncident & { total: number }>(
        `SELECT i.id, i.number, i.type, i.priority, i.status, i.title, i.address, s.name AS "siteName", i.occurred_at AS "occurredAt",
                ${SECONDS('i.arrived_at', 'i.created_at')} AS "responseSeconds",
                count(*) OVER ()::int AS total
           FROM incidents i LEFT JOIN sites s ON s.id = i.site_id
          WHERE i.occurred_at >= $1 AND i.occurred_at < $2 AND i.priority <= 2${where}
          ORDER BY i.priority, i.occurred_at, i.id LIMIT $${args.length}`,
        args,
      );
      return { items: rows.map(({ total: _total, ...r }) => r), total: rows[0]?.total ?? 0 };
    },
  };
}

export type StatsRepository = ReturnType<typeof createStatsRepository>;
