import type { AuditEntry, AuditLog } from '../../core/audit/types.ts';
import type { Pool } from '../../core/db/pool.ts';
import { badRequest, conflict, isUniqueViolation, notFound } from '../../core/http/errors.ts';
import { createSiteRepository, siteTransaction, type SiteRepository } from './repository.ts';
import { kindFitsUnder, makesCycle, validSiteCode } from './rules.ts';
import type { Site, SiteInput, SiteKind, SiteWithUsage } from './types.ts';

/** Who writes, for the audit row. */
export interface WriteContext { actor: AuditEntry['actor']; ip?: string; requestId?: string }

export interface SiteCreate { code: string; name: string; kind: SiteKind; parentId?: string | null; lat?: number | null; lon?: number | null }
export type SitePatch = Partial<SiteCreate>;

export interface SiteServiceDeps { pool: Pool; audit: AuditLog }

/**
 * The site tree (platforms, areas, stations): create, edit and delete with the tree's checks —
 * the parent exists, its level is not below the site's, no cycle, codes unique, a site in use
 * (devices or sites below it) is not deleted. Every change is audited.
 */
export function createSiteService({ pool, audit }: SiteServiceDeps) {
  const repo = createSiteRepository(pool);

  function normalise(input: SiteCreate): SiteInput {
    const code = input.code.trim();
    const name = input.name.trim();
    if (!validSiteCode(code)) throw badRequest('code must be 1–64 letters, digits or _.-', { field: 'code', code: 'site.code_invalid' });
    if (!name) throw badRequest('name is required', { field: 'name', code: 'validation.required' });
    const lat = input.lat ?? null;
    const lon = input.lon ?? null;
    if ((lat === null) !== (lon === null)) {
      throw badRequest('lat and lon go together', { field: lat === null ? 'lat' : 'lon', code: 'site.location_pair' });
    }
    return { code, name, kind: input.kind, parentId: input.parentId ?? null, lat, lon };
  }

  /** The parent checks of `site` (id null: a new one), inside the tree lock. */
  async function checkParent(tx: SiteRepository, id: string | null, site: SiteInput): Promise<void> {
    if (!site.parentId) return;
    const chain = await tx.ancestors(site.parentId);
    const parent = chain[0];
    if (!parent) throw badRequest('parentId names no site', { field: 'parentId', code: 'site.parent_not_found' });
    if (id && makesCycle(id, site.parentId, chain.map((s) => s.id))) {
      throw conflict('the parent is this site or below it: that would make a cycle', { field: 'parentId', code: 'site.cycle', params: { parent: parent.name } });
    }
    if (!kindFitsUnder(site.kind, parent.kind)) {
      throw badRequest(`a ${site.kind} cannot sit below a ${parent.kind}`, { field: 'parentId', code: 'site.parent_kind', params: { kind: site.kind, parentKind: parent.kind } });
    }
  }

  function codeTaken(err: unknown, code: string): never {
    if (isUniqueViolation(err)) throw conflict(`site code ${code} is taken`, { field: 'code', code: 'site.code_taken', params: { code } });
    throw err;
  }

  const record = (ctx: WriteContext, action: string, target: Pick<Site, 'id'>, details: Record<string, unknown>) =>
    audit.record({ actor: ctx.actor, action, targetType: 'site', targetId: target.id, details, ...(ctx.ip ? { ip: ctx.ip } : {}), ...(ctx.requestId ? { requestId: ctx.requestId } : {}) });

  return {
    list: (): Promise<SiteWithUsage[]> => repo.listWithUsage(),

    async get(id: string): Promise<SiteWithUsage> {
      const site = await repo.get(id);
      if (!site) throw notFound('site');
      return site;
    },

    async create(ctx: WriteContext, input: SiteCreate): Promise<SiteWithUsage> {
      const site = normalise(input);
      const saved = await siteTransaction(pool, async (tx) => {
        await tx.lockTree();
        await checkParent(tx, null, site);
        return tx.insert(site).catch((err) => codeTaken(err, site.code));
      });
      await record(ctx, 'site.create', saved, { ...site });
      return { ...saved, devices: 0, children: 0 };
    },

    async update(ctx: WriteContext, id: string, patch: SitePatch): Promise<SiteWithUsage> {
      const { before, saved } = await siteTransaction(pool, async (tx) => {
        await tx.lockTree();
        const current = await tx.get(id);
        if (!current) throw notFound('site');
        const site = normalise({
          code: patch.code ?? current.code, name: patch.name ?? current.name, kind: patch.kind ?? current.kind,
          parentId: patch.parentId !== undefined ? patch.parentId : current.parentId,
          lat: patch.lat !== undefined ? patch.lat : current.lat, lon: patch.lon !== undefined ? patch.lon : current.lon,
        });
        await checkParent(tx, id, site);
        if (site.kind !== current.kind && (await tx.childKinds(id)).some((k) => !kindFitsUnder(k, site.kind))) {
          throw conflict(`a site below this one cannot sit below a ${site.kind}`, { field: 'kind', code: 'site.children_kind', params: { kind: site.kind } });
        }
        const updated = await tx.update(id, site).catch((err) => codeTaken(err, site.code));
        return { before: current, saved: updated! };
      });
      const changed = Object.fromEntries(Object.entries(patch).filter(([k, v]) => v !== undefined && (before as unknown as Record<string, unknown>)[k] !== v));
      await record(ctx, 'site.update', saved, { code: saved.code, changed });
      return { ...saved, devices: before.devices, children: before.children };
    },

    /** Refused (409 site.in_use, with the counts) while devices or sites below use it. */
    async remove(ctx: WriteContext, id: string): Promise<void> {
      const site = await siteTransaction(pool, async (tx) => {
        await tx.lockTree();
        const current = await tx.get(id);
        const usage = await tx.lockForDelete(id);
        if (!current || !usage) throw notFound('site');
        if (usage.devices > 0 || usage.children > 0) {
          throw conflict(`the site is in use by ${usage.devices} devices and ${usage.children} sites below it`,
            { code: 'site.in_use', params: { devices: usage.devices, children: usage.children } });
        }
        await tx.delete(id);
        return current;
      });
      await record(ctx, 'site.delete', site, { code: site.code, name: site.name, kind: site.kind });
    },
  };
}

export type SiteService = ReturnType<typeof createSiteService>;
