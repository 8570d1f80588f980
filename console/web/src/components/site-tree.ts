// The flat site list (each with its parent id) as the tree an el-tree-select shows.

export interface SiteLike {
  id: string
  name: string
  parentId: string | null
}

export interface SiteNode {
  id: string
  name: string
  children: SiteNode[]
}

/**
 * Sites under their parents, siblings in the reader's collation (pinyin in zh-CN). A site whose
 * parent is unknown is a root; a cycle in parent ids (bad data) is broken, never followed forever.
 */
export function siteTree(sites: readonly SiteLike[], locale: string): SiteNode[] {
  const byId = new Map(sites.map((s) => [s.id, s]))
  const nodes = new Map<string, SiteNode>(sites.map((s) => [s.id, { id: s.id, name: s.name, children: [] }]))
  const roots: SiteNode[] = []
  for (const s of sites) {
    const node = nodes.get(s.id)!
    const parent = s.parentId && s.parentId !== s.id && byId.has(s.parentId) && !inCycle(s.id, byId) ? nodes.get(s.parentId) : undefined
    if (parent) parent.children.push(node)
    else roots.push(node)
  }
  const collator = new Intl.Collator(locale)
  const sort = (list: SiteNode[]) => {
    list.sort((a, b) => collator.compare(a.name, b.name))
    for (const n of list) sort(n.children)
  }
  sort(roots)
  return roots
}

/** Does following parents from `id` come back to it? */
function inCycle(id: string, byId: Map<string, SiteLike>): boolean {
  const seen = new Set<string>()
  let at = byId.get(id)?.parentId ?? null
  while (at) {
    if (at === id) return true
    if (seen.has(at)) return false
    seen.add(at)
    at = byId.get(at)?.parentId ?? null
  }
  return false
}
