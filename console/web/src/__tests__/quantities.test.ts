// Sizes and durations as the pages print them; runs in node.
import { describe, expect, it } from 'vitest'
import { formatBytes, formatDuration } from '../components/quantities.ts'

describe('formatBytes', () => {
  it('keeps three significant digits in 1024-based units', () => {
    expect(formatBytes(0)).toBe('0 B')
    expect(formatBytes(512)).toBe('512 B')
    expect(formatBytes(1536)).toBe('1.50 KB')
    expect(formatBytes(15.3 * 1024 ** 2)).toBe('15.3 MB')
    expect(formatBytes(120 * 1024 ** 3)).toBe('120 GB')
    expect(formatBytes(2.5 * 1024 ** 4)).toBe('2.50 TB')
  })

  it('moves to the next unit instead of printing 1024 of one', () => {
    expect(formatBytes(1024 * 1024 - 10)).toBe('1.00 MB')
  })

  it('prints a dash for what is not a size', () => {
    expect(formatBytes(null)).toBe('—')
    expect(formatBytes(undefined)).toBe('—')
    expect(formatBytes(-1)).toBe('—')
    expect(formatBytes(Number.NaN)).toBe('—')
  })
})

describe('formatDuration', () => {
  it('words the two largest units in each language', () => {
    expect(formatDuration(350, 'zh-CN')).toBe('350毫秒')
    expect(formatDuration(350, 'en')).toBe('350 ms')
    expect(formatDuration(12_340, 'en')).toBe('12 s')
    expect(formatDuration(4_250, 'zh-CN')).toBe('4.3秒')
    expect(formatDuration(125_000, 'zh-CN')).toBe('2分5秒')
    expect(formatDuration(125_000, 'en')).toBe('2 min 5 s')
    expect(formatDuration(3_720_000, 'zh-CN')).toBe('1小时2分')
    expect(formatDuration(3_600_000, 'en')).toBe('1 h')
    expect(formatDuration(3 * 86_400_000 + 4 * 3_600_000 + 59_000, 'en')).toBe('3 d 4 h')
  })

  it('does not print 60 s for a minute', () => {
    expect(formatDuration(59_700, 'en')).toBe('1 min')
  })

  it('prints a dash while nothing is known', () => {
    expect(formatDuration(null, 'en')).toBe('—')
    expect(formatDuration(-5, 'zh-CN')).toBe('—')
  })
})
