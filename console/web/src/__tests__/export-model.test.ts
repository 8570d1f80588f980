// The evidence export form and list in a site time zone, DST included; runs in node.
import { describe, expect, it } from 'vitest'
import type { EvidenceExport } from '../api/exports.ts'
import type { TimelineRange } from '../api/media.ts'
import {
  checkExportForm,
  emptyExportForm,
  exportFieldTarget,
  exportRangeFromView,
  exportRequest,
  formatSpan,
  formFromPrefill,
  gapRows,
  instantToWall,
  isActive,
  pickerDate,
  prefillFromQuery,
  recentRange,
  wallToInstant,
  withExport,
} from '../components/export-model.ts'

const SH = 'Asia/Shanghai'
const NY = 'America/New_York'
const ms = (iso: string) => Date.parse(iso)

describe('wall-clock readings in the site zone', () => {
  it('reads the picker value in the site zone, not the browser one', () => {
    expect(new Date(wallToInstant('2024-05-01 08:30:15', SH)!).toISOString()).toBe('2024-05-01T00:30:15.000Z')
    expect(new Date(wallToInstant('2024-05-01 00:00:00', SH)!).toISOString()).toBe('2024-04-30T16:00:00.000Z')
    expect(instantToWall(ms('2024-04-30T16:00:00Z'), SH)).toBe('2024-05-01 00:00:00')
  })

  it('handles both sides of a DST change', () => {
    expect(new Date(wallToInstant('2024-03-10 01:59:59', NY)!).toISOString()).toBe('2024-03-10T06:59:59.000Z')
    expect(new Date(wallToInstant('2024-03-10 03:00:00', NY)!).toISOString()).toBe('2024-03-10T07:00:00.000Z')
    // 01:30 happens twice in November: the earlier one
    expect(new Date(wallToInstant('2024-11-03 01:30:00', NY)!).toISOString()).toBe('2024-11-03T05:30:00.000Z')
  })

  it('refuses what is no reading', () => {
    expect(wallToInstant('2024-13-01 00:00:00', SH)).toBeNull()
    expect(wallToInstant('yesterday', SH)).toBeNull()
    expect(wallToInstant('2024-05-01 24:00:00', SH)).toBeNull()
  })

  it('gives the picker shortcuts Dates whose browser reading is the site reading', () => {
    const d = pickerDate(ms('2024-05-01T00:30:15Z'), SH)
    expect([d.getFullYear(), d.getMonth() + 1, d.getDate(), d.getHours(), d.getMinutes(), d.getSeconds()]).toEqual([2024, 5, 1, 8, 30, 15])
  })

  it('offers the last hour up to now by default', () => {
    expect(recentRange(ms('2024-05-01T02:00:00.700Z'), SH, 60)).toEqual(['2024-05-01 09:00:00', '2024-05-01 10:00:00'])
  })
})

describe('the request body', () => {
  it('sends every camera the same UTC range, trimmed texts, snapshots only when picked', () => {
    const m = { ...emptyExportForm(), caseNumber: ' A330106 ', reason: ' 盗窃案调取 ', deviceIds: ['d1', 'd2'], range: ['2024-05-01 08:00:00', '2024-05-01 08:10:00'] as [string, string] }
    expect(exportRequest(m, SH)).toEqual({
      caseNumber: 'A330106',
      reason: '盗窃案调取',
      items: [
        { deviceId: 'd1', from: '2024-05-01T00:00:00.000Z', to: '2024-05-01T00:10:00.000Z' },
        { deviceId: 'd2', from: '2024-05-01T00:00:00.000Z', to: '2024-05-01T00:10:00.000Z' },
      ],
    })
    expect(exportRequest({ ...m, snapshotIds: ['s1'] }, SH)?.snapshotIds).toEqual(['s1'])
    expect(exportRequest({ ...m, range: null }, SH)).toBeNull()
  })

  it('checks what the server would refuse anyway, before asking it', () => {
    const now = ms('2024-05-01T02:00:00Z')
    expect(checkExportForm(emptyExportForm(), SH, now)).toEqual({
      caseNumber: 'caseNumberRequired', reason: 'reasonRequired', deviceIds: 'camerasRequired', range: 'rangeRequired',
    })
    const ok = { ...emptyExportForm(), caseNumber: 'A1', reason: 'r', deviceIds: ['d1'], range: ['2024-05-01 08:00:00', '2024-05-01 08:10:00'] as [string, string] }
    expect(checkExportForm(ok, SH, now)).toEqual({})
    expect(checkExportForm({ ...ok, caseNumber: '   ' }, SH, now)).toEqual({ caseNumber: 'caseNumberRequired' })
    expect(checkExportForm({ ...ok, range: ['2024-05-01 08:10:00', '2024-05-01 08:10:00'] }, SH, now)).toEqual({ range: 'rangeBackwards' })
    expect(checkExportForm({ ...ok, range: ['2024-05-01 10:30:00', '2024-05-01 11:00:00'] }, SH, now)).toEqual({ range: 'rangeFuture' })
  })
})

describe('server fields on the form', () => {
  it('puts an item field on the range or camera item and keeps its index', () => {
    expect(exportFieldTarget('items.0.to')).toEqual({ prop: 'range', labelKey: 'to', index: 0 })
    expect(exportFieldTarget('/body/items/2/from')).toEqual({ prop: 'range', labelKey: 'from', index: 2 })
    expect(exportFieldTarget('items.1.deviceId')).toEqual({ prop: 'deviceIds', labelKey: 'camera', index: 1 })
    expect(exportFieldTarget('items')).toEqual({ prop: 'deviceIds', labelKey: 'cameras', index: null })
    expect(exportFieldTarget('caseNumber')).toEqual({ prop: 'caseNumber', labelKey: 'caseNumber', index: null })
    expect(exportFieldTarget('body.reason')).toEqual({ prop: 'reason', labelKey: 'reason', index: null })
    expect(exportFieldTarget('snapshotIds.3')).toEqual({ prop: 'snapshotIds', labelKey: 'snapshots', index: null })
    expect(exportFieldTarget('somethingElse')).toBeNull()
  })
})

function exp(extra: Partial<EvidenceExport> = {}): EvidenceExport {
  return {
    id: 'e1', caseNumber: 'A1', reason: 'r', requestedByName: '李侦查', requestedAt: '2024-05-01T00:00:00Z',
    items: [
      { deviceId: 'd1', deviceName: '东门枪机', from: '2024-05-01T00:00:00Z', to: '2024-05-01T01:00:00Z' },
      { deviceId: 'd2', deviceName: '西门球机', from: '2024-05-01T00:00:00Z', to: '2024-05-01T01:00:00Z' },
    ],
    status: 'done', progress: { percent: 100, bytes: 10 }, bytes: 10, sha256: 'ab'.repeat(32), error: null, errorCode: null,
    finishedAt: '2024-05-01T00:02:00Z', gaps: [], delivered: [], ...extra,
  }
}

describe('the list', () => {
  it('follows queued and running exports only', () => {
    expect(['queued', 'running', 'done', 'failed', 'expired'].map((s) => isActive(s as EvidenceExport['status']))).toEqual([true, true, false, false, false])
  })

  it('replaces one export with its newer state in place', () => {
    const list = [exp({ id: 'a', status: 'running' }), exp({ id: 'b' })]
    const next = withExport(list, exp({ id: 'a', status: 'done' }))
    expect(next.map((e) => [e.id, e.status])).toEqual([['a', 'done'], ['b', 'done']])
  })

  it('lists declared gaps per camera in request order, then by time, with names and lengths', () => {
    const rows = gapRows(exp({
      gaps: [
        { deviceId: 'd2', from: '2024-05-01T00:10:00Z', to: '2024-05-01T00:15:00Z', reason: 'no_recording' },
        { deviceId: 'd1', from: '2024-05-01T00:40:00Z', to: '2024-05-01T00:41:30Z', reason: 'unreadable' },
        { deviceId: 'd1', from: '2024-05-01T00:05:00Z', to: '2024-05-01T00:06:00Z', reason: 'no_recording' },
      ],
    }))
    expect(rows.map((g) => [g.deviceName, g.from, g.durationMs, g.reason])).toEqual([
      ['东门枪机', '2024-05-01T00:05:00Z', 60_000, 'no_recording'],
      ['东门枪机', '2024-05-01T00:40:00Z', 90_000, 'unreadable'],
      ['西门球机', '2024-05-01T00:10:00Z', 300_000, 'no_recording'],
    ])
  })

  it('prints a span in the site zone, the end date only when it differs', () => {
    expect(formatSpan('2024-05-01T00:05:00Z', '2024-05-01T00:06:30Z', SH)).toBe('2024-05-01 08:05:00 – 08:06:30')
    expect(formatSpan('2024-05-01T15:50:00Z', '2024-05-01T16:10:00Z', SH)).toBe('2024-05-01 23:50:00 – 2024-05-02 00:10:00')
    expect(formatSpan('x', '2024-05-01T16:10:00Z', SH)).toBe('—')
  })
})

describe('导出此段录像', () => {
  const footage = (from: string, to: string): TimelineRange => ({ from, to, kind: 'footage' })
  const view = { from: ms('2024-05-01T00:00:00Z'), to: ms('2024-05-01T01:00:00Z') }
  const now = ms('2024-05-01T12:00:00Z')

  it('offers the footage on screen, from its first start to its last end', () => {
    const ranges = [
      footage('2024-04-30T23:50:00Z', '2024-05-01T00:10:00Z'),
      { from: '2024-05-01T00:10:00Z', to: '2024-05-01T00:20:00Z', kind: 'missing' as const },
      footage('2024-05-01T00:20:00Z', '2024-05-01T00:30:00.400Z'),
      footage('2024-05-01T02:00:00Z', '2024-05-01T03:00:00Z'),
    ]
    expect(exportRangeFromView(view, ranges, now)).toEqual({ from: view.from, to: ms('2024-05-01T00:30:01Z') })
  })

  it('stops at now and offers nothing without footage on screen', () => {
    const ranges = [footage('2024-05-01T00:00:00Z', '2024-05-01T01:00:00Z')]
    expect(exportRangeFromView(view, ranges, ms('2024-05-01T00:45:00Z'))).toEqual({ from: view.from, to: ms('2024-05-01T00:45:00Z') })
    expect(exportRangeFromView(view, [footage('2024-05-01T02:00:00Z', '2024-05-01T03:00:00Z')], now)).toBeNull()
  })

  it('arrives through the URL and opens the form with its camera and range', () => {
    expect(prefillFromQuery({ deviceId: 'd1', from: '2024-05-01T00:00:00.000Z', to: '2024-05-01T00:30:00.000Z' })).toEqual({
      deviceId: 'd1', from: '2024-05-01T00:00:00.000Z', to: '2024-05-01T00:30:00.000Z',
    })
    expect(prefillFromQuery({ deviceId: 'd1', from: 'soon', to: '2024-05-01T00:30:00Z' })).toBeNull()
    expect(prefillFromQuery({ from: '2024-05-01T00:00:00Z', to: '2024-05-01T00:30:00Z' })).toBeNull()
    const m = formFromPrefill({ deviceId: 'd1', from: '2024-05-01T00:00:00.000Z', to: '2024-05-01T00:30:00.000Z' }, SH, now)
    expect(m.deviceIds).toEqual(['d1'])
    expect(m.range).toEqual(['2024-05-01 08:00:00', '2024-05-01 08:30:00'])
    // the round trip lands on the same instants
    expect(exportRequest({ ...m, caseNumber: 'A', reason: 'r' }, SH)?.items[0]).toEqual({ deviceId: 'd1', from: '2024-05-01T00:00:00.000Z', to: '2024-05-01T00:30:00.000Z' })
  })
})
