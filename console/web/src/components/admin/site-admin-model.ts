// The site tree page as pure functions: the form ↔ the API's input, checks before asking
// the server, and which sites may be chosen as a parent. Tested in __tests__/site-admin-model.test.ts.
import type { AdminSite, SiteInput, SiteKind } from '../../api/sites.ts'

export interface SiteForm {
  code: string
  name: string
  kind: SiteKind
  parentId: string | null
  /** As typed: '' is no location. */
  lat: string
  lon: string
}

export type SiteField = keyof SiteForm
/** A problem found before asking the server: the i18n key under admin.sites and its field. */
export type SiteProblems = Partial<Record<SiteField, 'required' | 'rangeHint' | 'pairHint' | 'codeHint'>>

const RANK: Record<SiteKind, number> = { platform: 0, area: 1, station: 2 }

export function emptySiteForm(parent?: AdminSite | null): SiteForm {
  const kind: SiteKind = !parent ? 'platform' : parent.kind === 'platform' ? 'area' : 'station'
  return { code: '', name: '', kind, parentId: parent?.id ?? null, lat: '', lon: '' }
}

export function formOf(site: AdminSite): SiteForm {
  return { code: site.code, name: site.name, kind: site.kind, parentId: site.parentId, lat: site.lat === null ? '' : String(site.lat), lon: site.lon === null ? '' : String(site.lon) }
}

/** The checks the server makes too, so most mistakes show at once beside their field. */
export function checkSiteForm(f: SiteForm): SiteProblems {
  const problems: SiteProblems = {}
  if (!f.code.trim()) problems.code = 'required'
  else if (!/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/.test(f.code.trim())) problems.code = 'codeHint'
  if (!f.name.trim()) problems.name = 'required'
  const lat = f.lat.trim()
  const lon = f.lon.trim()
  if (lat && (!Number.isFinite(Number(lat)) || Math.abs(Number(lat)) > 90)) problems.lat = 'rangeHint'
  if (lon && (!Number.isFinite(Number(lon)) || Math.abs(Number(lon)) > 180)) problems.lon = 'rangeHint'
  if (!problems.lat && !problems.lon && Boolean(lat) !== Boolean(lon)) problems[lat ? 'lon' : 'lat'] = 'pairHint'
  return problems
}

export function siteInput(f: SiteForm): SiteInput {
  const num = (s: string) => (s.trim() ? Number(s.trim()) : null)
  return { code: f.code.trim(), name: f.name.trim(), kind: f.kind, parentId: f.parentId, lat: num(f.lat), lon: num(f.lon) }
}

/** `id` and every site below it (a site cannot move below these). */
export function descendantsOf(sites: readonly AdminSite[], id: string): Set<string> {
  const below = new Set<string>([id])
  let grew = true
  while (grew) {
    grew = false
    for (const s of sites) {
      if (s.parentId && below.has(s.parentId) && !below.has(s.id)) {
        below.add(s.id)
        grew = true
      }
    }
  }
  return below
}

/** The sites a `kind` site (`id`, or a new one) may sit below: not itself or below it, not a lower level. */
export function parentChoices(sites: readonly AdminSite[], kind: SiteKind, id: string | null): AdminSite[] {
  const excluded = id ? descendantsOf(sites, id) : new Set<string>()
  return sites.filter((s) => !excluded.has(s.id) && RANK[s.kind] <= RANK[kind])
}

/** Sites matching a search (name or code, any case) and the sites above them, so the tree keeps its shape. */
export function matchingWithAncestors(sites: readonly AdminSite[], query: string): Set<string> | null {
  const q = query.trim().toLowerCase()
  if (!q) return null
  const byId = new Map(sites.map((s) => [s.id, s]))
  const keep = new Set<string>()
  for (const s of sites) {
    if (!s.name.toLowerCase().includes(q) && !s.code.toLowerCase().includes(q)) continue
    let at: AdminSite | undefined = s
    while (at && !keep.has(at.id)) {
      keep.add(at.id)
      at = at.parentId ? byId.get(at.parentId) : undefined
    }
  }
  return keep
}
