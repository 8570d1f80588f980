import type { SiteKind } from './types.ts';

/**
 * The site tree's rules as pure functions of plain values (see gateway/streams/decide.ts):
 * a platform is above an area, an area above a station, and a site's parent chain never
 * comes back to it.
 */

const RANK: Record<SiteKind, number> = { platform: 0, area: 1, station: 2 };

/** A `kind` site may sit below a `parentKind` one: never below a lower level (an area under a station). */
export function kindFitsUnder(kind: SiteKind, parentKind: SiteKind): boolean {
  return RANK[parentKind] <= RANK[kind];
}

/** Moving site `id` below `parentId`, whose chain upwards (itself first) is `parentChain`, makes a cycle. */
export function makesCycle(id: string, parentId: string, parentChain: readonly string[]): boolean {
  return parentId === id || parentChain.includes(id);
}

/** A code as the national registry writes one: letters, digits and _.- (1–64), starting with a letter or digit. */
export function validSiteCode(code: string): boolean {
  return /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/.test(code);
}
