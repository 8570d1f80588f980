import { describe, expect, it } from 'vitest'
import type { Alarm } from '../../api/alarms.ts'
import { alarmCauses, alarmOf, buttonRowWidth, applyToOpen, applyToPage, detailParts, matchesQuery, mergeAlarm, reasonText, type AlarmCause } from './alarm-model.ts'

const alarm = (id: string, raisedAt: string, extra: Partial<Alarm> = {}): Alarm => ({
  id, raisedAt, kind: 'device_offline', severity: 'warning', deviceId: 'd1', deviceName: '人民路口', lat: null, lon: null, details: {},
  ackedAt: null, ackedByName: null, ackNote: null, incidentId: null, incidentNumber: null, ...extra,
})

describe('alarm lists', () => {
  const a = alarm('a', '2026-12-02T10:00:00.000Z')
  const b = alarm('b', '2026-12-02T10:05:00.000Z')
  const c = alarm('c', '2026-12-02T10:10:00.000Z')

  it('keeps newest first, replaces an alarm already there, and caps the list', () => {
    expect(mergeAlarm([c, a], b).map((x) => x.id)).toEqual(['c', 'b', 'a'])
    expect(mergeAlarm([b, a], c).map((x) => x.id)).toEqual(['c', 'b', 'a'])
    expect(mergeAlarm([c, b], a).map((x) => x.id)).toEqual(['c', 'b', 'a'])
    const renamed = { ...b, deviceName: '新名字' }
    expect(mergeAlarm([c, b, a], renamed)).toEqual([c, renamed, a])
    expect(mergeAlarm([c, b], a, 2).map((x) => x.id)).toEqual(['c', 'b'])
  })

  it('drops an acknowledged alarm from the open list', () => {
    expect(applyToOpen([c, b, a], { ...b, ackedAt: '2026-12-02T10:06:00.000Z' }).map((x) => x.id)).toEqual(['c', 'a'])
    expect(applyToOpen([c, a], b).map((x) => x.id)).toEqual(['c', 'b', 'a'])
  })

  it('updates a shown alarm in place on a page, adds a new one only when it matches the filter', () => {
    const acked = { ...b, ackedAt: '2026-12-02T10:06:00.000Z' }
    expect(applyToPage([c, b, a], acked, { state: 'open' })).toEqual([c, acked, a])
    const gap = alarm('g', '2026-12-02T11:00:00.000Z', { kind: 'recording_gap' })
    expect(applyToPage([c], gap, { state: 'open', kinds: ['device_offline'] })).toEqual([c])
    expect(applyToPage([c], gap, { state: 'all', kinds: ['recording_gap'] })).toEqual([gap, c])
  })

  it('matches state, kind, device, incident and time range', () => {
    expect(matchesQuery(a, {})).toBe(true)
    expect(matchesQuery({ ...a, ackedAt: 'x' }, {})).toBe(false)
    expect(matchesQuery(a, { state: 'acked' })).toBe(false)
    expect(matchesQuery(a, { deviceId: 'd2' })).toBe(false)
    expect(matchesQuery(a, { incidentId: 'i' })).toBe(false)
    expect(matchesQuery(a, { from: '2026-12-02T10:00:00.000Z', to: '2026-12-02T10:00:01.000Z' })).toBe(true)
    expect(matchesQuery(a, { to: '2026-12-02T10:00:00.000Z' })).toBe(false)
  })

  it('reads the alarm out of an event payload, or nothing', () => {
    expect(alarmOf({ alarm: a })).toBe(a)
    expect(alarmOf({ alarm: { id: 1 } })).toBeNull()
    expect(alarmOf({})).toBeNull()
  })
})

describe('alarm details', () => {
  it('says what a gap, a match and a reason were', () => {
    expect(detailParts('recording_gap', { from: 'f', to: 't', seconds: 90 })).toEqual([{ key: 'gap', params: { from: 'f', to: 't', seconds: 90 } }])
    expect(detailParts('face', { score: 0.934 })).toEqual([{ key: 'score', params: { score: 93 } }])
    expect(detailParts('device_offline', { reason: 'ONVIF: unreachable', from: 'online' })).toEqual([{ key: 'reason', params: { reason: 'ONVIF: unreachable' } }])
    expect(detailParts('device_offline', { reason: null })).toEqual([])
  })

  it('carries the coded causes beside the raw text, skipping malformed ones', () => {
    const details = {
      reason: 'ONVIF 10.0.0.5:80: health check failed: connection refused',
      reasonCode: 'onvif_refused',
      reasons: [{ code: 'onvif_refused', params: { address: '10.0.0.5:80', nested: { x: 1 } } }, { code: 'Bad Code', params: {} }, 'junk', { params: {} }],
    }
    expect(detailParts('device_offline', details)).toEqual([
      { key: 'reason', params: { reason: details.reason }, causes: [{ code: 'onvif_refused', params: { address: '10.0.0.5:80' } }] },
    ])
    expect(alarmCauses({ reasons: 'onvif_refused' })).toEqual([])
    expect(alarmCauses({ reasons: [{ code: 'stream_exit', params: { code: 1 } }, { code: 'stream_ended' }] }))
      .toEqual([{ code: 'stream_exit', params: { code: 1 } }, { code: 'stream_ended', params: {} }])
  })

  it('words every cause, or falls back to the raw text when one of them has no wording', () => {
    const causes: AlarmCause[] = [{ code: 'a', params: {} }, { code: 'b', params: { n: 2 } }]
    const part = { key: 'reason' as const, params: { reason: 'raw text' }, causes }
    const words: Record<string, string> = { a: '甲', b: '乙' }
    expect(reasonText(part, (c) => words[c.code] ?? null, '，')).toBe('甲，乙')
    expect(reasonText(part, (c) => (c.code === 'a' ? '甲' : null), '，')).toBe('raw text')
    expect(reasonText({ key: 'reason', params: { reason: 'raw text' } }, () => '甲', '，')).toBe('raw text')
  })
})

describe('the actions column', () => {
  it('is as wide as its buttons\' words in each language', () => {
    expect(buttonRowWidth(['确认', '新建警情', '关联警情'])).toBe(240)
    expect(buttonRowWidth(['Acknowledge', 'New incident', 'Join incident'])).toBe(390)
    expect(buttonRowWidth([])).toBe(30)
  })
})
