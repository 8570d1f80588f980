import { describe, expect, it } from 'vitest';
import { logSettings, textLine } from '../../bin/logging.ts';

describe('process logging', () => {
  it('defaults to text on the terminal and the JSON log in the data directory', () => {
    expect(logSettings({}, './data')).toEqual({ format: 'text', level: 'info', file: 'data/logs/skynet.log' });
    expect(logSettings({ SKYNET_LOG_FORMAT: 'json' }, './data')).toEqual({ format: 'json', level: 'info', file: null });
    expect(logSettings({ SKYNET_LOG_FILE: 'off', SKYNET_LOG_LEVEL: 'debug' }, './data')).toEqual({ format: 'text', level: 'debug', file: null });
    expect(logSettings({ SKYNET_LOG_FORMAT: 'json', SKYNET_LOG_FILE: '/var/log/skynet.log' }, './data').file).toBe('/var/log/skynet.log');
  });

  it('refuses an unknown format or level naming the variable and the allowed values', () => {
    expect(() => logSettings({ SKYNET_LOG_FORMAT: 'pretty' }, './data')).toThrow('SKYNET_LOG_FORMAT = "pretty" is invalid — expected text or json');
    expect(() => logSettings({ SKYNET_LOG_LEVEL: 'loud' }, './data')).toThrow(/SKYNET_LOG_LEVEL = "loud" is invalid — expected trace, debug, info, warn, error, fatal or silent/);
  });

  it('turns a pino line into one readable line in the site time zone', () => {
    const time = Date.UTC(2026, 11, 2, 8, 5, 9);
    const line = JSON.stringify({ level: 40, time, pid: 1, hostname: 'h', deviceId: 'd-1', reason: 'connection refused', err: { type: 'Error', message: 'boom\nat x', code: 'ECONNREFUSED' }, msg: 'ffmpeg ended' });
    expect(textLine(line, 'Asia/Shanghai')).toBe('16:05:09 WARN  ffmpeg ended  deviceId=d-1 reason="connection refused" err="ECONNREFUSED: boom\\nat x"');
    expect(textLine(JSON.stringify({ level: 50, time, msg: 'line one\nline two' }), 'UTC')).toBe('08:05:09 ERROR line one ⏎ line two');
    expect(textLine(JSON.stringify({ level: 40, time, msg: 'x', big: 'y'.repeat(1000) }), 'UTC')!.length).toBe(400);
  });
});
