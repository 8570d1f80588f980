import { badRequest, notFound } from '../../../core/http/errors.ts';
import type { Principal } from '../../../core/identity/types.ts';
import type { Platform } from '../../../core/platform.ts';
import { bboxOf, gapsOf, GAP_TOLERANCE_MS, pgPolygon, polygonArea2, recordedSeconds, sortEvents } from './ranges.ts';
import { createSearchRepository } from './repository.ts';
import type { Actor, CameraFootage, FootageDevice, FootageEvent, FootageEventKind, FootageQuery, IncidentRef, NearbyCamera, NearbyKind, TimeRange } from './types.ts';

type Meta = { ip?: string; requestId?: string };
/** The incidents feature's timeline writer (console/server/incidents/service.ts addTimeline). */
export type AddTimeline = (incidentId: string, actor: Actor, kind: string, details: Record<string, unknown>) => Promise<unknown>;
const ALL_EVENTS: FootageEventKind[] = ['alarm', 'snapshot', 'bookmark', 'offline'];
/** The most events one camera's answer lists (per kind, then in all). */
export const MAX_EVENTS_PER_CAMERA = 1000;
/** Devices considered before the events filter narrows them (a whole town's registry). */
const MAX_CANDIDATES = 5000;
/** Timeline range default: the last 24 hours. */
const DAY_MS = 86_400_000;

/** Coverage queries one search runs at once, each for at least this many cameras. */
const COVERAGE_PARALLEL = 4;
const COVERAGE_CHUNK_MIN = 4;
const chunk = <T>(items: readonly T[], size: number): T[][] =>
  Array.from({ length: Math.ceil(items.length / size) }, (_, i) => items.slice(i * size, (i + 1) * size));

/** The audited reason of a search started from an incident: the same words a footage ticket uses. */
export const incidentReason = (i: IncidentRef) => `incident:${i.number}`;

/**
 * Video search (录像检索) and nearby cameras (周边摄像机): cameras around a point or an incident,
 * footage coverage (recorded ranges, gaps) and what happened (alarms, snapshots, bookmarks,
 * offline periods) for cameras by id, drawn area or tag over a time range, and one camera's
 * timeline. Searches are audited as `footage.search` (with the incident as reason when started
 * from one); a nearby or footage search from an incident also lands on its timeline.
 */
export function createSearchService(deps: { platform: Platform; addTimeline: AddTimeline }) {
  const { platform } = deps;
  const { config, audit } = platform;
  const repo = createSearchRepository(platform.pool);

  async function incidentOf(id: string | undefined): Promise<IncidentRef | null> {
    if (!id) return null;
    const incident = await repo.incident(id);
    if (!incident) throw notFound('incident', { code: 'not_found', field: 'incidentId', params: { what: 'incident' } });
    return incident;
  }

  /** A search's time window, checked: not reversed, not longer than search.maxRangeDays. */
  function windowOf(fromText: string, toText: string): TimeRange {
    const from = new Date(fromText);
    const to = new Date(toText);
    if (to.getTime() <= from.getTime()) throw badRequest('`to` must be after `from`', { field: 'to', code: 'search.range_reversed' });
    const maxDays = config.search.maxRangeDays;
    if (to.getTime() - from.getTime() > maxDays * DAY_MS) {
      throw badRequest(`a search covers at most ${maxDays} days`, { field: 'to', code: 'search.range_too_long', params: { maxDays } });
    }
    return { from, to };
  }

  /** Append to an incident's timeline (the incidents feature writes it and tells its watchers). */
  async function onTimeline(incident: IncidentRef, actor: Principal, kind: string, details: Record<string, unknown>): Promise<void> {
    await deps.addTimeline(incident.id, { id: actor.userId ?? null, name: actor.username }, kind, details);
  }

  async function auditSearch(actor: Principal, incident: IncidentRef | null, target: { type: string; id?: string }, details: Record<string, unknown>, meta: Meta) {
    await audit.record({
      actor, action: 'footage.search', targetType: target.type, ...(target.id ? { targetId: target.id } : {}),
      ...(incident ? { reason: incidentReason(incident) } : {}),
      details: { ...details, ...(incident ? { incidentId: incident.id, incidentNumber: incident.number } : {}) }, ...meta,
    });
  }

  /** Ranges, gaps and events of cameras over a window, as answers. */
  async function footageOf(devices: readonly FootageDevice[], w: TimeRange, kinds: readonly FootageEventKind[]): Promise<CameraFootage[]> {
    const ids = devices.map((d) => d.id);
    // Coverage reads every segment row of the window: split over a few connections so the
    // database's cores share a large search (a 30-day area search reads ≈ 80,000 rows).
    const chunks = chunk(ids, Math.max(COVERAGE_CHUNK_MIN, Math.ceil(ids.length / COVERAGE_PARALLEL)));
    const [parts, events] = await Promise.all([
      Promise.all(chunks.map((part) => repo.coverage(part, w.from, w.to, GAP_TOLERANCE_MS))),
      repo.events(ids, w.from, w.to, kinds, MAX_EVENTS_PER_CAMERA * Math.max(1, ids.length)),
    ]);
    const coverage = new Map(parts.flatMap((m) => [...m]));
    const byDevice = new Map<string, FootageEvent[]>(ids.map((id) => [id, []]));
    for (const { deviceId, ...e } of events) byDevice.get(deviceId)?.push(e);
    const until = new Date(Math.min(w.to.getTime(), Date.now()));
    return devices.map((device) => {
      const ranges = coverage.get(device.id) ?? [];
      return {
        device, ranges, recordedSeconds: recordedSeconds(ranges),
        gaps: until > w.from ? gapsOf(ranges, w.from, until) : [],
        events: sortEvents(byDevice.get(device.id) ?? [], MAX_EVENTS_PER_CAMERA),
      };
    });
  }

  return {
    /** Cameras within a radius of a point, or of an incident's location (then audited and on its timeline). */
    async nearby(actor: Principal, q: { lat?: number; lon?: number; radius?: number; incidentId?: string; kind: NearbyKind; limit: number }, meta: Meta) {
      const radius = q.radius ?? config.incidents.nearbyRadiusMeters;
      const max = config.incidents.maxRadiusMeters;
      if (radius > max) throw badRequest(`the radius is at most ${max} m`, { field: 'radius', code: 'search.radius_too_large', params: { max } });
      const incident = await incidentOf(q.incidentId);
      const located = incident && incident.lat !== null && incident.lon !== null;
      const center = located ? { lat: incident.lat!, lon: incident.lon! } : q.lat !== undefined && q.lon !== undefined ? { lat: q.lat, lon: q.lon } : null;
      if (!center) {
        if (incident) throw badRequest('this incident has no location: give lat and lon', { field: 'lat', code: 'search.incident_not_located', params: { number: incident.number } });
        throw badRequest('give lat and lon, or an incident with a location', { field: q.lat === undefined ? 'lat' : 'lon', code: 'search.center_required' });
      }
      const items: NearbyCamera[] = await repo.nearby({ ...center, radius, kind: q.kind, limit: q.limit });
      if (incident) {
        const details = { search: 'nearby', lat: center.lat, lon: center.lon, radius, kind: q.kind, count: items.length };
        await auditSearch(actor, incident, { type: 'incident', id: incident.id }, details, meta);
        await onTimeline(incident, actor, 'cameras.searched', { ...details, deviceIds: items.slice(0, 50).map((i) => i.device.id) });
      }
      return { center, radius, items };
    },

    /** Footage coverage and events of cameras by id, drawn area and/or tag over a time range. Audited. */
    async footage(actor: Principal, q: FootageQuery, meta: Meta): Promise<{ items: CameraFootage[]; truncated: boolean }> {
      const w = windowOf(q.from, q.to);
      const points = q.area?.points ?? null;
      if (points && Math.abs(polygonArea2(points)) < 1e-12) {
        throw badRequest('the drawn area has no surface (its corners lie on one line)', { field: 'area.points', code: 'search.area_invalid' });
      }
      const ids = q.deviceIds?.length ? [...new Set(q.deviceIds)] : null;
      const tags = q.tags?.length ? q.tags : null;
      const eventFilter = q.events?.length ? [...new Set(q.events)] : null;
      if (!ids && !points && !tags && !eventFilter) {
        throw badRequest('name cameras, draw an area, give tags or ask for events', { field: 'deviceIds', code: 'search.scope_required' });
      }
      const maxCameras = config.search.maxCameras;
      const limit = Math.min(q.limit ?? maxCameras, maxCameras);
      const incident = await incidentOf(q.incidentId);
      const candidates = await repo.footageDevices({
        ids, polygon: points ? pgPolygon(points) : null, bbox: points ? bboxOf(points) : null, tags,
        limit: eventFilter ? MAX_CANDIDATES : limit + 1,
      });
      let chosen = candidates;
      if (eventFilter) {
        // Only cameras with such events in range: look once over all candidates, keep those that have one.
        const withEvents = new Set((await repo.events(candidates.map((d) => d.id), w.from, w.to, eventFilter, MAX_EVENTS_PER_CAMERA * 50)).map((e) => e.deviceId));
        chosen = candidates.filter((d) => withEvents.has(d.id));
      }
      const truncated = chosen.length > limit;
      const items = await footageOf(chosen.slice(0, limit), w, ALL_EVENTS);
      await auditSearch(actor, incident, incident ? { type: 'incident', id: incident.id } : { type: 'footage' }, {
        search: 'footage', from: w.from.toISOString(), to: w.to.toISOString(), deviceIds: ids?.length ?? 0, area: points ? points.length : 0,
        tags, events: eventFilter, count: items.length, truncated,
      }, meta);
      if (incident) {
        await onTimeline(incident, actor, 'footage.searched', {
          from: w.from.toISOString(), to: w.to.toISOString(), count: items.length, deviceIds: items.slice(0, 50).map((i) => i.device.id),
        });
      }
      return { items, truncated };
    },

    /** One camera's ranges, gaps and events over [from, to) (the last 24 hours by default). Audited. */
    async timeline(actor: Principal, deviceId: string, q: { from?: string; to?: string; incidentId?: string }, meta: Meta) {
      const now = Date.now();
      const to = q.to ?? (q.from ? new Date(Math.min(Date.parse(q.from) + DAY_MS, now + DAY_MS)).toISOString() : new Date(now).toISOString());
      const from = q.from ?? new Date(Date.parse(to) - DAY_MS).toISOString();
      const w = windowOf(from, to);
      const device = await repo.device(deviceId);
      if (!device) throw notFound('device');
      const incident = await incidentOf(q.incidentId);
      const [item] = await footageOf([device], w, ALL_EVENTS);
      await auditSearch(actor, incident, { type: 'device', id: device.id }, { search: 'timeline', name: device.name, from: w.from.toISOString(), to: w.to.toISOString() }, meta);
      return { device: item!.device, ranges: item!.ranges, gaps: item!.gaps, events: item!.events, recordedSeconds: item!.recordedSeconds };
    },
  };
}

export type SearchService = ReturnType<typeof createSearchService>;
