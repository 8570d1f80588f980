// How a timeline entry's details read as text (pure; tested in __tests__/incident-model.test.ts).
// Everything is plain text: the page shows it with {{ }} (never v-html).

/** Scalar detail values in a stable order, skipping ids and the keys the entry's headline already says. */
export function detailPairs(details: Record<string, unknown>, skip: string[] = []): [string, string][] {
  const out: [string, string][] = []
  for (const [key, value] of Object.entries(details ?? {})) {
    if (skip.includes(key) || /(^id$|Id$)/.test(key)) continue
    if (value === null || value === undefined || value === '') continue
    if (Array.isArray(value)) out.push([key, value.map((v) => (typeof v === 'object' ? JSON.stringify(v) : String(v))).join(', ')])
    else if (typeof value === 'object') out.push([key, JSON.stringify(value)])
    else out.push([key, String(value)])
  }
  return out
}

/** The free text of an entry (a note's text, a status change's note), if any. */
export function entryText(details: Record<string, unknown>): string | null {
  for (const key of ['text', 'note']) {
    const v = details?.[key]
    if (typeof v === 'string' && v.trim()) return v
  }
  return null
}

/** What each known kind shows besides its headline: the detail keys worth reading, in order. */
const SHOWN: Record<string, string[]> = {
  created: [],
  updated: [],
  status: [],
  note: [],
  'bookmark.added': ['deviceName'],
  'bookmark.removed': ['deviceName'],
  'holds.released': ['holds'],
  'snapshot.added': ['at', 'takenAt'],
  'export.started': ['reason'],
  'alarm.joined': ['kind', 'deviceName', 'raisedAt'],
  'cameras.searched': ['radius', 'count'],
  'camera.viewed': ['deviceName'],
}

/** The detail lines of an entry: the chosen keys of a known kind, every scalar detail of an unknown one. */
export function shownDetails(kind: string, details: Record<string, unknown>): [string, string][] {
  const keys = SHOWN[kind]
  const pairs = detailPairs(details, ['text', 'note', 'from', 'to', 'changes'])
  if (!keys) return pairs.filter(([k]) => !/Ids$/.test(k))
  return keys.flatMap((k) => pairs.filter(([key]) => key === k))
}

/** Detail keys holding an ISO time (shown in the site time zone). */
export const TIME_KEYS = ['at', 'takenAt', 'raisedAt']
