/** Statistics (警情分析): the domain types the service, repository, CSV writer and routes share. */
import type { IncidentSource } from '../incidents/types.ts';

/** [from, to): `to` exclusive. */
export interface Period { from: Date; to: Date }

export const SHIFTS = ['day', 'evening', 'night'] as const;
/** 班次: site-local 08:00–16:00 day, 16:00–24:00 evening, 00:00–08:00 night. */
export type Shift = (typeof SHIFTS)[number];

export const RESPONSE_GROUPS = ['area', 'unit', 'shift', 'type'] as const;
export type ResponseGroupBy = (typeof RESPONSE_GROUPS)[number];

export const STATS_LANGS = ['zh-CN', 'en'] as const;
export type StatsLang = (typeof STATS_LANGS)[number];

/** What the incidents are narrowed to: a site and everything below it, one type. */
export interface StatsFilter { siteId: string | null; type: string | null }

/** A site of the area tree, as the statistics roll it up. */
export interface SiteNode { id: string; parentId: string | null; code: string; name: string; kind: 'platform' | 'area' | 'station' }

/**
 * The level a breakdown by area is read at: each group is a site with everything below it
 * rolled into it. `members` maps every site of the scope to the group it counts in.
 */
export interface AreaLevel {
  /** The site the request named (or the single top-level site), null when several roots are read. */
  parent: SiteNode | null;
  groups: SiteNode[];
  members: Map<string, string>;
  /** Every site of the scope (the filter's subtree), null without a site filter. */
  scope: string[] | null;
}

// ── incidents ────────────────────────────────────────────────────────────────

/** One row of the single pass over the period: a grouping set and its count. */
export type BreakdownRow =
  | { set: 'main'; type: string; siteId: string | null; source: IncidentSource; closed: boolean; videoAssisted: boolean; count: number }
  | { set: 'grid'; unitId: string | null; count: number }
  | { set: 'time'; weekday: number; hour: number; count: number };

export interface CompareCounts { count: number; byType: Map<string, number> }

export interface PeriodCount { from: Date; to: Date; count: number }

export interface TypeCount { type: string; count: number; previous: number; lastYear: number }
/** `itself`: the level's own site, counting what is attached to it directly (not what is below it). */
export interface AreaCount { siteId: string | null; name: string; kind: SiteNode['kind'] | null; itself: boolean; count: number }
export interface GridCount { unitId: string | null; callSign: string; gridName: string; count: number }
export interface SourceCount { source: string; count: number }

export interface IncidentStats {
  timeZone: string;
  from: Date;
  to: Date;
  siteId: string | null;
  type: string | null;
  totals: {
    count: number;
    previous: PeriodCount;
    lastYear: PeriodCount;
    /** 环比: (count − previous) / previous; null when previous is 0. */
    previousChange: number | null;
    /** 同比: (count − lastYear) / lastYear; null when lastYear is 0. */
    lastYearChange: number | null;
    closed: number;
    /** Closed incidents recorded as solved with the help of video. */
    videoAssisted: number;
    videoAssistedRate: number | null;
  };
  byType: TypeCount[];
  byArea: AreaCount[];
  byGrid: GridCount[];
  /** Site-local hour of occurrence, 0–23. */
  byHour: number[];
  /** Site-local weekday of occurrence, 0 Monday … 6 Sunday. */
  byWeekday: number[];
  bySource: SourceCount[];
}

// ── response ─────────────────────────────────────────────────────────────────

export interface Spread { median: number | null; p90: number | null }

/** One group's response figures (seconds). */
export interface ResponseGroup {
  key: string | null;
  label: string;
  /** By area: the level's own site (what is attached to it directly). */
  itself: boolean;
  dispatched: number;
  arrived: number;
  /** Arrivals within each target, in the order of the targets. */
  within: number[];
  /** within ÷ dispatched, per target; null with nothing dispatched. */
  withinRate: (number | null)[];
  response: Spread;
  dispatch: Spread;
  travel: Spread;
}

/** A group's figures as the repository reads them (before labels and rates). */
export interface ResponseRow {
  key: string | null;
  dispatched: number;
  arrived: number;
  within: number[];
  response: Spread;
  dispatch: Spread;
  travel: Spread;
}

export interface ResponseStats {
  timeZone: string;
  from: Date;
  to: Date;
  siteId: string | null;
  type: string | null;
  groupBy: ResponseGroupBy;
  targetsSeconds: number[];
  total: ResponseGroup;
  groups: ResponseGroup[];
}

// ── devices ──────────────────────────────────────────────────────────────────

/** One site's cameras (the repository's row, before the roll-up). */
export interface DeviceSiteRow {
  siteId: string | null;
  cameras: number;
  online: number;
  degraded: number;
  offline: number;
  unknown: number;
  recordingCameras: number;
  recordedSeconds: number;
  expectedSeconds: number;
}

export interface DeviceAreaStats extends DeviceSiteRow {
  name: string;
  kind: SiteNode['kind'] | null;
  itself: boolean;
  onlineRate: number | null;
  recordingCompleteness: number | null;
}

export interface DeviceStats {
  timeZone: string;
  at: Date;
  from: Date;
  to: Date;
  siteId: string | null;
  total: DeviceAreaStats;
  byArea: DeviceAreaStats[];
}

// ── daily brief ──────────────────────────────────────────────────────────────

export interface NotableIncident {
  id: string;
  number: string;
  type: string;
  priority: number;
  status: string;
  title: string;
  address: string;
  siteName: string | null;
  occurredAt: Date;
  /** Arrival − entry, seconds; null when nobody arrived. */
  responseSeconds: number | null;
}

export interface DailyBrief {
  timeZone: string;
  date: string;
  from: Date;
  to: Date;
  generatedAt: Date;
  totals: {
    count: number;
    previousDay: { date: string; count: number };
    lastYear: { date: string; count: number };
    previousDayChange: number | null;
    lastYearChange: number | null;
    closed: number;
    videoAssisted: number;
  };
  byType: TypeCount[];
  byArea: AreaCount[];
  response: { targetsSeconds: number[]; total: ResponseGroup };
  notable: NotableIncident[];
  /** Notable incidents beyond the list's limit. */
  notableMore: number;
  devices: { at: Date; total: DeviceAreaStats; byArea: DeviceAreaStats[] };
}
