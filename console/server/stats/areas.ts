import type { AreaLevel, SiteNode } from './types.ts';

/**
 * The area tree (sites, parent_id) as the statistics read it: pure functions of plain values.
 * A breakdown by area is read one level below a site, each group counting everything below it.
 */

/** A parent chain longer than this is taken as broken (the sites feature refuses cycles). */
const MAX_DEPTH = 100;

/** The top-level site above `id` that sits directly below `top` (or `top` itself), or null when `id` is not below `top`. */
function groupOf(id: string, top: string | null, byId: Map<string, SiteNode>): string | null {
  let current = byId.get(id);
  let previous: SiteNode | undefined;
  for (let depth = 0; current && depth < MAX_DEPTH; depth++) {
    if (top !== null && current.id === top) return previous?.id ?? top;
    const parent = current.parentId !== null ? byId.get(current.parentId) : undefined;
    if (top === null && !parent) return current.id;
    previous = current;
    current = parent;
  }
  return null;
}

/**
 * The level `siteId` is broken down at: its children, each with its subtree, and the site itself
 * for what is attached to it directly. Without a site: below the single top-level site (a
 * platform) when there is one, else the top-level sites. Null when `siteId` names no site.
 */
export function areaLevel(sites: readonly SiteNode[], siteId: string | null): AreaLevel | null {
  const byId = new Map(sites.map((s) => [s.id, s]));
  const roots = sites.filter((s) => s.parentId === null || !byId.has(s.parentId));
  let parent: SiteNode | null;
  if (siteId !== null) {
    const named = byId.get(siteId);
    if (!named) return null;
    parent = named;
  } else {
    parent = roots.length === 1 ? roots[0]! : null;
  }
  const members = new Map<string, string>();
  for (const s of sites) {
    const g = groupOf(s.id, parent?.id ?? null, byId);
    if (g !== null) members.set(s.id, g);
  }
  const groupIds = new Set(members.values());
  const order = (a: SiteNode, b: SiteNode) => a.code.localeCompare(b.code) || a.id.localeCompare(b.id);
  const groups = sites.filter((s) => groupIds.has(s.id) && s.id !== parent?.id).sort(order);
  if (parent && groupIds.has(parent.id)) groups.unshift(parent);
  return { parent, groups, members, scope: siteId !== null ? [...members.keys()] : null };
}

/**
 * Counts per site rolled into the level's groups. `key` null is "no site": kept as its own row
 * (siteId null) when there is any, unless the level is a site's own subtree (then no such row
 * can be in scope). Sites outside the level's scope are dropped.
 */
export function rollUp<T>(level: AreaLevel, rows: Iterable<{ siteId: string | null; value: T }>, add: (a: T, b: T) => T, zero: () => T): { group: SiteNode | null; value: T }[] {
  const sums = new Map<string | null, T>();
  for (const r of rows) {
    const g = r.siteId === null ? null : level.members.get(r.siteId);
    if (g === undefined) continue;
    sums.set(g, add(sums.get(g) ?? zero(), r.value));
  }
  const out: { group: SiteNode | null; value: T }[] = [];
  for (const g of level.groups) {
    // The parent's own row appears only when something is attached to it directly.
    if (g.id === level.parent?.id && !sums.has(g.id)) continue;
    out.push({ group: g, value: sums.get(g.id) ?? zero() });
  }
  if (sums.has(null)) out.push({ group: null, value: sums.get(null)! });
  return out;
}

/** Parallel arrays of the level's members, for SQL: `unnest($1::uuid[], $2::uuid[]) AS m(site_id, group_id)`. */
export function memberArrays(level: AreaLevel): { siteIds: string[]; groupIds: string[] } {
  const siteIds: string[] = [];
  const groupIds: string[] = [];
  for (const [site, group] of level.members) { siteIds.push(site); groupIds.push(group); }
  return { siteIds, groupIds };
}
