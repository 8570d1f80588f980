import { createAuditLog } from '../../../core/audit/repository.ts';
import type { AuditEntry } from '../../../core/audit/types.ts';
import type { Queryable } from '../../../core/db/pool.ts';
import { badRequest, conflict, forbidden, isUniqueViolation, notFound } from '../../../core/http/errors.ts';
import type { Principal } from '../../../core/identity/types.ts';
import type { Platform } from '../../../core/platform.ts';
import { createWallRepository } from './repository.ts';
import {
  MAX_LAYOUTS_PER_USER, type Layout, type LayoutInput, type LayoutTile, type RequestMeta, type Tour, type TourInput, type WallDevice, type WallGrid,
} from './types.ts';

const DEFAULT_INTERVAL_SECONDS = 15;
const DEFAULT_TOUR_GRID: WallGrid = 4;

/** The layout's cells in order, one per index of the grid; a cell not sent is empty. */
export function normaliseTiles(grid: WallGrid, tiles: readonly LayoutTile[]): LayoutTile[] {
  const seen = new Set<number>();
  for (const [i, t] of tiles.entries()) {
    if (t.index >= grid) throw badRequest(`tile index ${t.index} is outside a ${grid}-tile grid`, { field: `tiles.${i}.index`, code: 'wall.tile_outside_grid', params: { index: t.index, grid } });
    if (seen.has(t.index)) throw badRequest(`tile index ${t.index} appears twice`, { field: `tiles.${i}.index`, code: 'wall.tile_repeated', params: { index: t.index } });
    seen.add(t.index);
  }
  const byIndex = new Map(tiles.map((t) => [t.index, t.deviceId]));
  return Array.from({ length: grid }, (_, index) => ({ index, deviceId: byIndex.get(index) ?? null }));
}

/** The ids once each, in the order first given. */
export function uniqueIds(ids: readonly string[]): string[] {
  return [...new Set(ids.map((id) => id.toLowerCase()))];
}

function userOf(actor: Principal): string {
  if (!actor.userId) throw forbidden('the video wall belongs to user accounts', { code: 'wall.user_required' });
  return actor.userId;
}

/**
 * The video wall (视频墙): each person's saved layouts (one of them their default), the tours
 * (轮巡) monitors define and run, and the camera list the wall's device tree shows. Tour writes,
 * starts and stops are audited with the tour's id; a layout is a person's own arrangement.
 */
export function createWallService(platform: Pick<Platform, 'pool'>) {
  const repo = createWallRepository(platform.pool);

  /** Refuse ids that are not cameras in service, naming the field. */
  async function checkCameras(db: { cameraIds(ids: string[]): Promise<Set<string>> }, ids: string[], field: string): Promise<void> {
    const found = await db.cameraIds(ids);
    const missing = ids.filter((id) => !found.has(id));
    if (missing.length > 0) {
      throw badRequest(`${missing.length} of the device ids are not cameras in service: ${missing.slice(0, 3).join(', ')}`, {
        field, code: 'wall.not_cameras', params: { count: missing.length, first: missing[0]! },
      });
    }
  }

  async function audit(db: Queryable, actor: Principal, e: Omit<AuditEntry, 'actor' | 'ip' | 'requestId'>, meta: RequestMeta): Promise<void> {
    await createAuditLog(db).record({ ...e, actor, ...meta });
  }

  function tourName(name: string): string {
    const trimmed = name.trim();
    if (!trimmed) throw badRequest('a tour needs a name', { field: 'name', code: 'wall.name_blank' });
    return trimmed;
  }

  async function writeTour<T>(fn: () => Promise<T>, name: string): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      if (isUniqueViolation(err)) throw conflict(`a tour named ${name} exists already`, { field: 'name', code: 'wall.tour_name_taken', params: { name } });
      throw err;
    }
  }

  return {
    async cameras(): Promise<{ items: WallDevice[] }> {
      return { items: await repo.cameras() };
    },

    async layouts(actor: Principal): Promise<{ items: Layout[] }> {
      return { items: await repo.layouts(userOf(actor)) };
    },

    /** Save (create or replace) the caller's layout `name`; the default one makes the others not default. */
    async saveLayout(actor: Principal, rawName: string, input: LayoutInput, meta: RequestMeta): Promise<Layout> {
      const userId = userOf(actor);
      const name = rawName.trim();
      if (!name) throw badRequest('a layout needs a name', { field: 'name', code: 'wall.name_blank' });
      const tiles = normaliseTiles(input.grid, input.tiles);
      const ids = uniqueIds(tiles.flatMap((t) => (t.deviceId ? [t.deviceId] : [])));
      const shown = tiles.map((t) => ({ index: t.index, deviceId: t.deviceId?.toLowerCase() ?? null }));
      return repo.transaction(async ({ repo: tx, db }) => {
        await checkCameras(tx, ids, 'tiles');
        await tx.lockUser(userId);
        if (!(await tx.layoutExists(userId, name)) && (await tx.countLayouts(userId)) >= MAX_LAYOUTS_PER_USER) {
          throw conflict(`at most ${MAX_LAYOUTS_PER_USER} layouts per person`, { field: 'name', code: 'wall.too_many_layouts', params: { max: MAX_LAYOUTS_PER_USER } });
        }
        const isDefault = input.isDefault ?? false;
        if (isDefault) await tx.clearDefault(userId, name);
        const layout = await tx.upsertLayout(userId, name, { grid: input.grid, tiles: shown, isDefault });
        await audit(db, actor, { action: 'wall.layout.save', targetType: 'wall_layout', targetId: layout.id, details: { name, grid: input.grid, cameras: ids.length, isDefault } }, meta);
        return layout;
      });
    },

    async deleteLayout(actor: Principal, name: string, meta: RequestMeta): Promise<void> {
      const userId = userOf(actor);
      await repo.transaction(async ({ repo: tx, db }) => {
        if (!(await tx.deleteLayout(userId, name.trim()))) throw notFound('layout', { code: 'wall.layout_not_found', params: { name } });
        await audit(db, actor, { action: 'wall.layout.delete', targetType: 'wall_layout', details: { name } }, meta);
      });
    },

    async tours(): Promise<{ items: Tour[] }> {
      return { items: await repo.tours() };
    },

    async tour(id: string): Promise<Tour> {
      const tour = await repo.tour(id);
      if (!tour) throw notFound('tour', { code: 'wall.tour_not_found' });
      return tour;
    },

    async createTour(actor: Principal, input: TourInput, meta: RequestMeta): Promise<Tour> {
      const name = tourName(input.name);
      const deviceIds = uniqueIds(input.deviceIds);
      return writeTour(() => repo.transaction(async ({ repo: tx, db }) => {
        await checkCameras(tx, deviceIds, 'deviceIds');
        const tour = await tx.insertTour({
          name, deviceIds, intervalSeconds: input.intervalSeconds ?? DEFAULT_INTERVAL_SECONDS, grid: input.grid ?? DEFAULT_TOUR_GRID,
          createdBy: actor.userId, createdByName: actor.username,
        });
        await audit(db, actor, { action: 'tour.create', targetType: 'tour', targetId: tour.id, details: { name, cameras: deviceIds.length, intervalSeconds: tour.intervalSeconds, grid: tour.grid } }, meta);
        return tour;
      }), name);
    },

    async updateTour(actor: Principal, id: string, patch: Partial<TourInput>, meta: RequestMeta): Promise<Tour> {
      return repo.transaction(async ({ repo: tx, db }) => {
        const before = await tx.tour(id);
        if (!before) throw notFound('tour', { code: 'wall.tour_not_found' });
        const name = patch.name !== undefined ? tourName(patch.name) : before.name;
        const deviceIds = patch.deviceIds !== undefined ? uniqueIds(patch.deviceIds) : before.deviceIds;
        if (patch.deviceIds !== undefined) await checkCameras(tx, deviceIds, 'deviceIds');
        const next = { name, deviceIds, intervalSeconds: patch.intervalSeconds ?? before.intervalSeconds, grid: patch.grid ?? before.grid };
        const tour = await writeTour(async () => (await tx.updateTour(id, next))!, name);
        await audit(db, actor, { action: 'tour.update', targetType: 'tour', targetId: id, details: { name, cameras: deviceIds.length, intervalSeconds: next.intervalSeconds, grid: next.grid } }, meta);
        return tour;
      });
    },

    async deleteTour(actor: Principal, id: string, meta: RequestMeta): Promise<void> {
      await repo.transaction(async ({ repo: tx, db }) => {
        const tour = await tx.deleteTour(id);
        if (!tour) throw notFound('tour', { code: 'wall.tour_not_found' });
        await audit(db, actor, { action: 'tour.delete', targetType: 'tour', targetId: id, details: { name: tour.name } }, meta);
      });
    },

    /** A monitor started or stopped running the tour on their wall: the audit log says who watched what, when. */
    async runTour(actor: Principal, id: string, action: 'start' | 'stop', meta: RequestMeta): Promise<Tour> {
      const tour = await repo.tour(id);
      if (!tour) throw notFound('tour', { code: 'wall.tour_not_found' });
      await audit(platform.pool, actor, {
        action: `tour.${action}`, targetType: 'tour', targetId: id,
        details: { name: tour.name, cameras: tour.deviceIds.length, intervalSeconds: tour.intervalSeconds, grid: tour.grid },
      }, meta);
      return tour;
    },
  };
}

export type WallService = ReturnType<typeof createWallService>;
