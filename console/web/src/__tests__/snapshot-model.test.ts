// The snapshot strip's decisions; runs in node.
import { describe, expect, it } from 'vitest'
import type { Snapshot } from '../api/snapshots.ts'
import { keepSelected, mayRefetch, renewDelayMs, resolution, withTaken } from '../components/snapshot-model.ts'

function snap(id: string, takenAt: string, extra: Partial<Snapshot> = {}): Snapshot {
  return {
    id, deviceId: 'd1', takenAt, source: 'session', bytes: 1000, width: 640, height: 360, purpose: 'manual', reason: null,
    requestedByName: '张警官', url: `https://gw/snap/${id}`, urlExpiresAt: '2024-05-01T10:10:00Z', ...extra,
  }
}

describe('withTaken', () => {
  it('puts the new picture first, once, and keeps the strip to its limit', () => {
    const list = [snap('b', '2024-05-01T10:00:02Z'), snap('a', '2024-05-01T10:00:01Z')]
    const next = withTaken(list, snap('c', '2024-05-01T10:00:03Z'), 2)
    expect(next.map((s) => s.id)).toEqual(['c', 'b'])
    // the list fetched again may already hold it: no twin
    expect(withTaken(next, snap('c', '2024-05-01T10:00:03Z')).map((s) => s.id)).toEqual(['c', 'b'])
  })

  it('keeps newest first when a slower answer arrives after a newer picture', () => {
    const list = [snap('new', '2024-05-01T10:00:05Z')]
    expect(withTaken(list, snap('old', '2024-05-01T10:00:01Z')).map((s) => s.id)).toEqual(['new', 'old'])
  })
})

describe('renewDelayMs', () => {
  const now = Date.parse('2024-05-01T10:00:00Z')
  it('renews before the first link lapses, at once when it already has', () => {
    const list = [snap('a', '2024-05-01T09:59:00Z', { urlExpiresAt: '2024-05-01T10:05:00Z' }), snap('b', '2024-05-01T09:58:00Z', { urlExpiresAt: '2024-05-01T10:02:00Z' })]
    expect(renewDelayMs(list, now, 30_000)).toBe(90_000)
    expect(renewDelayMs(list, Date.parse('2024-05-01T10:03:00Z'))).toBe(0)
  })

  it('has nothing to renew in an empty strip', () => {
    expect(renewDelayMs([], now)).toBeNull()
    expect(renewDelayMs([snap('a', '2024-05-01T10:00:00Z', { urlExpiresAt: 'garbage' })], now)).toBeNull()
  })
})

describe('mayRefetch', () => {
  it('lets a broken picture ask for fresh links, but not in a loop', () => {
    expect(mayRefetch(0, 10_000)).toBe(true)
    expect(mayRefetch(10_000, 12_000)).toBe(false)
    expect(mayRefetch(10_000, 15_000)).toBe(true)
  })
})

describe('resolution and selection', () => {
  it('prints a size only when both sides are known', () => {
    expect(resolution({ width: 1920, height: 1080 })).toBe('1920×1080')
    expect(resolution({ width: null, height: 1080 })).toBeNull()
  })

  it('drops snapshots of cameras no longer in the export', () => {
    const byDevice = { d1: [snap('a', '2024-05-01T10:00:00Z')], d2: [snap('b', '2024-05-01T10:00:00Z', { deviceId: 'd2' })] }
    expect(keepSelected(['a', 'b'], byDevice, ['d1', 'd2'])).toEqual(['a', 'b'])
    expect(keepSelected(['a', 'b'], byDevice, ['d2'])).toEqual(['b'])
    expect(keepSelected(['a', 'zzz'], byDevice, ['d1'])).toEqual(['a'])
  })
})
