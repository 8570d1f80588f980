// Sizes and durations as a control room reads them; pure, tested in __tests__/quantities.test.ts.

const UNITS = ['B', 'KB', 'MB', 'GB', 'TB', 'PB']

/** 1024-based, three significant digits: 512 B, 1.50 MB, 15.3 GB, 120 GB. */
export function formatBytes(bytes: number | null | undefined): string {
  if (bytes === null || bytes === undefined || !Number.isFinite(bytes) || bytes < 0) return '—'
  if (bytes < 1024) return `${Math.round(bytes)} B`
  let value = bytes
  let unit = 0
  while (value >= 1024 && unit < UNITS.length - 1) {
    value /= 1024
    unit++
  }
  // 1023.96 KB would print as "1024 KB": show it as the next unit instead.
  if (value >= 999.5 && unit < UNITS.length - 1) {
    value /= 1024
    unit++
  }
  const digits = value < 10 ? 2 : value < 100 ? 1 : 0
  return `${value.toFixed(digits)} ${UNITS[unit]}`
}

type DurationWords = { ms: string; s: string; min: string; h: string; d: string; sep: string }
const WORDS: Record<'zh-CN' | 'en', DurationWords> = {
  'zh-CN': { ms: '毫秒', s: '秒', min: '分', h: '小时', d: '天', sep: '' },
  en: { ms: 'ms', s: 's', min: 'min', h: 'h', d: 'd', sep: ' ' },
}

/** 350 ms, 12.3 s, 2 min 5 s, 1 h 2 min, 3 d 4 h: the two largest units, in the reader's language. */
export function formatDuration(ms: number | null | undefined, locale: string): string {
  if (ms === null || ms === undefined || !Number.isFinite(ms) || ms < 0) return '—'
  const w = WORDS[locale === 'en' ? 'en' : 'zh-CN']
  const part = (n: number, unit: string) => `${n}${w.sep}${unit}`
  const join = (a: string, b: string | null) => (b ? `${a}${w.sep === '' ? '' : ' '}${b}` : a)
  if (ms < 1000) return part(Math.round(ms), w.ms)
  if (ms < 59_500) return part(Number((ms / 1000).toFixed(ms < 10_000 ? 1 : 0)), w.s)
  const total = Math.round(ms / 1000)
  const d = Math.floor(total / 86_400)
  const h = Math.floor((total % 86_400) / 3600)
  const m = Math.floor((total % 3600) / 60)
  const s = total % 60
  if (d > 0) return join(part(d, w.d), h ? part(h, w.h) : null)
  if (h > 0) return join(part(h, w.h), m ? part(m, w.min) : null)
  return join(part(m, w.min), s ? part(s, w.s) : null)
}
