// The wording of snapshots, exports and the admin job page: every key the models name exists
// in both languages and renders with its placeholders filled; runs in node.
import { describe, expect, it } from 'vitest'
import { createI18n } from 'vue-i18n'
import zhCN from '../i18n/zh-CN.ts'
import en from '../i18n/en.ts'
import { RETENTION_STORES, retentionPhrases, runPhrases } from '../components/retention-model.ts'
import { checkExportForm, emptyExportForm, exportFieldTarget } from '../components/export-model.ts'

const i18n = createI18n({ legacy: false, locale: 'zh-CN', messages: { 'zh-CN': zhCN, en } })
const { t, te } = i18n.global as unknown as { t: (k: string, p?: Record<string, unknown>) => string; te: (k: string, l?: string) => boolean }

function leaves(obj: unknown, prefix: string): [string, string][] {
  if (typeof obj === 'string') return [[prefix, obj]]
  return Object.entries(obj as Record<string, unknown>).flatMap(([k, v]) => leaves(v, prefix ? `${prefix}.${k}` : k))
}

describe('evidence wording', () => {
  for (const locale of ['zh-CN', 'en'] as const) {
    it(`renders every message of the three pages in ${locale} with its placeholders filled`, () => {
      const current = i18n.global.locale as unknown as { value: string }
      current.value = locale
      expect(t('exports.title')).toBe(locale === 'en' ? en.exports.title : zhCN.exports.title)
      const sections = ['snapshot', 'exports', 'adminJobs']
      const all = sections.flatMap((s) => leaves((locale === 'en' ? en : zhCN)[s as 'snapshot'], s))
      expect(all.length).toBeGreaterThan(150)
      for (const [key, source] of all) {
        const params = Object.fromEntries([...source.matchAll(/\{(\w+)\}/g)].map((m) => [m[1], 'X']))
        const out = t(key, params)
        expect(out, key).not.toBe(key)
        expect(out, key).not.toMatch(/[{}]/)
      }
    })
  }

  it('has a wording for every phrase and problem the models produce', () => {
    const keys = [
      ...['freed', 'nothingFreed', 'highWater', 'highWaterStill', 'keptHeld', 'deferred', 'repaired', 'oldest', 'sessionsPurged', 'failed', 'raw'],
      ...RETENTION_STORES.map((s) => `store.${s}`),
    ].map((k) => `adminJobs.summary.${k}`)
    const none = { files: 0, bytes: 0 }
    const produced = [
      ...retentionPhrases({ trigger: 'manual', expired: { segments: none, snapshots: none, exports: none }, highWater: [], repaired: 0, keptHeld: 0, deferred: 0, oldest: [], durationMs: 0 }),
      ...runPhrases({ name: 'sessions.purge', status: 'ok', result: { deleted: 1 }, error: null }),
    ].map((p) => `adminJobs.summary.${p.key}`)
    const problems = Object.values(checkExportForm(emptyExportForm(), 'UTC', 0)).map((k) => `exports.form.${k}`)
    const labels = ['items.0.from', 'items.0.to', 'items.0.deviceId', 'items', 'caseNumber', 'reason', 'snapshotIds'].map(
      (f) => `exports.form.${exportFieldTarget(f)!.labelKey}`,
    )
    for (const key of [...keys, ...produced, ...problems, ...labels, 'exports.form.rangeBackwards', 'exports.form.rangeFuture']) {
      expect(te(key, 'zh-CN'), key).toBe(true)
      expect(te(key, 'en'), key).toBe(true)
    }
  })
})
