// The admin job page's summaries; runs in node.
import { describe, expect, it } from 'vitest'
import type { RetentionResult } from '../api/jobs.ts'
import {
  asRetentionResult,
  diskLevel,
  freedByStore,
  freedTotal,
  jobOutcome,
  oldestFootage,
  retentionPhrases,
  runDurationMs,
  runPhrases,
} from '../components/retention-model.ts'

const GB = 1024 ** 3
const MB = 1024 ** 2

function result(extra: Partial<RetentionResult> = {}): RetentionResult {
  return {
    trigger: 'schedule',
    expired: { segments: { files: 1200, bytes: 5 * GB }, snapshots: { files: 30, bytes: 12 * MB }, exports: { files: 0, bytes: 0 } },
    highWater: [],
    repaired: 0,
    keptHeld: 0,
    deferred: 0,
    oldest: [{ deviceId: 'd1', oldestAt: '2024-04-02T00:00:00Z' }, { deviceId: 'd2', oldestAt: '2024-04-01T08:00:00Z' }],
    durationMs: 1234,
    ...extra,
  }
}

describe('what a retention run freed', () => {
  it('adds the high-water pass to the footage past retention', () => {
    const r = result({
      highWater: [{ nodeId: 'gw-1', usedPercentBefore: 93.2, usedPercentAfter: 79.6, segments: { files: 800, bytes: 3 * GB }, stillAbove: false }],
    })
    expect(freedByStore(r).segments).toEqual({ files: 2000, bytes: 8 * GB })
    expect(freedByStore(r).snapshots).toEqual({ files: 30, bytes: 12 * MB })
    expect(freedTotal(r)).toEqual({ files: 2030, bytes: 8 * GB + 12 * MB })
    // the record itself is not changed
    expect(r.expired.segments.files).toBe(1200)
  })

  it('words it most important first, leaving out what is zero', () => {
    const r = result({
      highWater: [{ nodeId: 'gw-1', usedPercentBefore: 93.24, usedPercentAfter: 85, segments: { files: 1, bytes: 1 }, stillAbove: true }],
      keptHeld: 7,
      deferred: 2,
    })
    expect(retentionPhrases(r)).toEqual([
      { key: 'freed', params: { files: 1231, bytes: '5.01 GB' } },
      { key: 'store.segments', params: { files: 1201, bytes: '5.00 GB' } },
      { key: 'store.snapshots', params: { files: 30, bytes: '12.0 MB' } },
      { key: 'highWaterStill', params: { node: 'gw-1', before: '93.2%', after: '85.0%' } },
      { key: 'keptHeld', params: { n: 7 } },
      { key: 'deferred', params: { n: 2 } },
      { key: 'oldest', params: { n: 2 } },
    ])
  })

  it('says so when there was nothing to delete', () => {
    const none = { files: 0, bytes: 0 }
    const r = result({ expired: { segments: none, snapshots: none, exports: none }, oldest: [], repaired: 3 })
    expect(retentionPhrases(r)).toEqual([
      { key: 'nothingFreed', params: {} },
      { key: 'repaired', params: { n: 3 } },
      { key: 'oldest', params: { n: 0 } },
    ])
  })

  it('finds the earliest footage left', () => {
    expect(oldestFootage(result())).toBe('2024-04-01T08:00:00Z')
    expect(oldestFootage(result({ oldest: [] }))).toBeNull()
  })
})

describe('run records', () => {
  const run = { name: 'retention.run', status: 'ok' as const, error: null, startedAt: '2024-05-01T00:00:00Z', finishedAt: '2024-05-01T00:00:02.500Z' }

  it('reads a retention record, and nothing else as one', () => {
    expect(asRetentionResult(result())).toEqual(result())
    expect(asRetentionResult({ deleted: 3 })).toBeNull()
    expect(asRetentionResult(null)).toBeNull()
    expect(asRetentionResult({ expired: { segments: { files: 1 } } })).toBeNull()
    // a record from an older worker without the newer counters still reads
    expect(asRetentionResult({ expired: result().expired })?.keptHeld).toBe(0)
  })

  it('words each kind of run', () => {
    expect(runPhrases({ ...run, result: result() as unknown as Record<string, unknown> })[0]?.key).toBe('freed')
    expect(runPhrases({ ...run, name: 'sessions.purge', result: { deleted: 4 } })).toEqual([{ key: 'sessionsPurged', params: { n: 4 } }])
    expect(runPhrases({ ...run, status: 'failed', result: null, error: 'disk gone' })).toEqual([{ key: 'failed', params: { error: 'disk gone' } }])
    expect(runPhrases({ ...run, status: 'running', result: null })).toEqual([])
    expect(runPhrases({ ...run, name: 'other.job', result: { a: 1 } })).toEqual([{ key: 'raw', params: { json: '{"a":1}' } }])
  })

  it('measures a finished run only', () => {
    expect(runDurationMs(run)).toBe(2500)
    expect(runDurationMs({ ...run, finishedAt: null })).toBeNull()
  })
})

describe('disks and jobs', () => {
  it('places a disk against the water marks', () => {
    expect(diskLevel(50, 90, 80)).toBe('normal')
    expect(diskLevel(80, 90, 80)).toBe('low')
    expect(diskLevel(89.9, 90, 80)).toBe('low')
    expect(diskLevel(90, 90, 80)).toBe('high')
  })

  it('waits for a followed job until it completes or fails', () => {
    expect(['waiting', 'active', 'delayed', 'completed', 'failed'].map((state) => jobOutcome({ state }))).toEqual([
      'pending', 'pending', 'pending', 'completed', 'failed',
    ])
  })
})
