import { describe, expect, it } from 'vitest';
import { ALARM_REASON_CODES, healthReasons, reasonFields, rtspAddress, sessionReasons } from '../../console/server/alarms/reasons.ts';
import { classifyFailure } from '../../gateway/streams/decide.ts';
import { judgeHealth } from '../../gateway/health/judge.ts';
import zhCN from '../../console/web/src/i18n/zh-CN.ts';
import en from '../../console/web/src/i18n/en.ts';

// Alarm reasons as stable codes: the health probes' outcomes and the stream code's fixed reason
// texts map to codes with parameters, and the web has a wording of every code in both languages.
describe('health check reasons', () => {
  const refused = { ok: false as const, code: 'unreachable', message: 'ONVIF 10.1.2.3:80: health check failed: connect ECONNREFUSED 10.1.2.3:80' };
  const rtspRefused = { ok: false as const, code: 'unreachable', message: 'RTSP 10.1.2.3:554 unreachable (ECONNREFUSED)' };

  it('gives one cause per failed probe, ONVIF first, with the address probed', () => {
    expect(healthReasons({ onvif: refused, rtsp: rtspRefused, onvifAddress: '10.1.2.3:80', rtspUrl: 'rtsp://admin:secret@10.9.9.9/Streaming/Channels/101' })).toEqual([
      { code: 'onvif_refused', params: { address: '10.1.2.3:80' } },
      { code: 'rtsp_refused', params: { address: '10.9.9.9:554' } },
    ]);
    expect(healthReasons({ onvif: refused, rtsp: { ok: false, code: 'timeout', message: 'x' }, onvifAddress: '10.1.2.3:80', rtspUrl: 'rtsp://10.1.2.3/x' })).toEqual([
      { code: 'onvif_refused', params: { address: '10.1.2.3:80' } },
      { code: 'rtsp_timeout', params: { address: '10.1.2.3:554' } },
    ]);
    expect(healthReasons({
      onvif: { ok: false, code: 'timeout', message: 'ONVIF 10.1.2.3:80: health check timed out after 1500 ms' },
      rtsp: { ok: true }, onvifAddress: '10.1.2.3:80', rtspUrl: 'rtsp://10.1.2.3:8554/live',
    })).toEqual([{ code: 'onvif_timeout', params: { address: '10.1.2.3:80' } }]);
    expect(healthReasons({ onvif: { ok: false, code: 'auth', message: 'x' }, onvifAddress: 'cam.local:8080' })).toEqual([{ code: 'onvif_auth', params: { address: 'cam.local:8080' } }]);
    expect(healthReasons({ rtsp: { ok: false, code: 'unreachable', message: 'RTSP 10.1.2.3:554 closed the connection' }, rtspUrl: 'rtsp://10.1.2.3/x' }))
      .toEqual([{ code: 'rtsp_unreachable', params: { address: '10.1.2.3:554' } }]);
    expect(healthReasons({ rtsp: { ok: false, code: 'protocol', message: 'x' }, rtspUrl: 'not a url' })).toEqual([{ code: 'rtsp_protocol', params: { address: '' } }]);
  });

  it('makes one cause of both probes failing the same way on one host (the usual offline camera)', () => {
    expect(healthReasons({ onvif: refused, rtsp: rtspRefused, onvifAddress: '10.1.2.3:80', rtspUrl: 'rtsp://admin:secret@10.1.2.3/Streaming/Channels/101' }))
      .toEqual([{ code: 'device_refused', params: { address: '10.1.2.3' } }]);
    const closed = { ok: false as const, code: 'unreachable', message: 'RTSP [fe80::1]:554 closed the connection' };
    expect(healthReasons({ onvif: { ok: false, code: 'unreachable', message: 'ONVIF [fe80::1]:80: health check failed: socket hang up' }, rtsp: closed, onvifAddress: '[fe80::1]:80', rtspUrl: 'rtsp://[fe80::1]/1' }))
      .toEqual([{ code: 'device_unreachable', params: { address: '[fe80::1]' } }]);
    const slow = { ok: false as const, code: 'timeout', message: 'x' };
    expect(healthReasons({ onvif: slow, rtsp: slow, onvifAddress: 'cam:8080', rtspUrl: 'rtsp://cam:8554/x' })).toEqual([{ code: 'device_timeout', params: { address: 'cam' } }]);
  });

  it('names a code it does not know by the probe, and an unreadable password when every probe passed', () => {
    expect(healthReasons({ onvif: { ok: false, code: 'weird', message: 'x' }, onvifAddress: 'h:80' })).toEqual([{ code: 'onvif_failed', params: { address: 'h:80' } }]);
    expect(healthReasons({ rtsp: { ok: false, code: 'weird', message: 'x' } })).toEqual([{ code: 'rtsp_failed', params: { address: '' } }]);
    expect(healthReasons({ onvif: { ok: true }, credentialError: 'the stored password cannot be decrypted' })).toEqual([{ code: 'password_unreadable', params: {} }]);
    expect(healthReasons({ onvif: { ok: true }, rtsp: { ok: true } })).toEqual([]);
    expect(healthReasons(undefined)).toEqual([]);
  });

  it('agrees with the verdict: an offline device always has a cause', () => {
    const checks = { onvif: refused, rtsp: rtspRefused };
    expect(judgeHealth(checks).state).toBe('offline');
    expect(healthReasons(checks).length).toBe(2);
    expect(healthReasons({ ...checks, onvifAddress: '10.1.2.3:80', rtspUrl: 'rtsp://10.1.2.3/x' }).length).toBe(1);
  });

  it('keeps only host and port of an RTSP URL', () => {
    expect(rtspAddress('rtsp://user:pw@192.168.1.64:554/h264?x=1')).toBe('192.168.1.64:554');
    expect(rtspAddress('rtsps://cam.example/x')).toBe('cam.example:322');
    expect(rtspAddress('rtsp://[fe80::1]/x')).toBe('[fe80::1]:554');
    expect(rtspAddress(null)).toBeNull();
    expect(rtspAddress('::')).toBeNull();
  });

  it('puts the first cause\'s code beside the list', () => {
    expect(reasonFields([{ code: 'stream_ended', params: {} }, { code: 'stream_lost', params: {} }])).toEqual({
      reasonCode: 'stream_ended', reasons: [{ code: 'stream_ended', params: {} }, { code: 'stream_lost', params: {} }],
    });
    expect(reasonFields([])).toEqual({ reasonCode: null, reasons: [] });
  });
});

describe('stream session reasons', () => {
  it('codes every reason ffmpeg failures are classified into', () => {
    const lines = [
      'No space left on device', 'Server returned 401 Unauthorized', 'Server returned 403 Forbidden', 'Server returned 404 Not Found',
      'Protocol not on whitelist', 'Connection refused', 'Operation timed out', 'No route to host', 'Connection reset by peer',
      'Invalid data found when processing input',
    ];
    const codes = lines.map((line) => sessionReasons(classifyFailure([line], { code: 1, signal: null }).reason)[0]?.code);
    expect(codes).toEqual([
      'stream_disk', 'stream_auth', 'stream_forbidden', 'stream_not_found', 'stream_protocol', 'stream_refused', 'stream_timeout',
      'stream_unreachable', 'stream_lost', 'stream_invalid_data',
    ]);
    expect(sessionReasons(classifyFailure([], { code: 0, signal: null }).reason)).toEqual([{ code: 'stream_ended', params: {} }]);
    expect(sessionReasons(classifyFailure([], { code: 187, signal: null }).reason)).toEqual([{ code: 'stream_exit', params: { code: 187 } }]);
    expect(sessionReasons(classifyFailure([], { code: null, signal: 'SIGKILL' }).reason)).toEqual([{ code: 'stream_killed', params: { signal: 'SIGKILL' } }]);
    expect(sessionReasons(classifyFailure([], { code: null, signal: null, error: 'spawn ffmpeg ENOENT' }).reason)).toEqual([{ code: 'stream_spawn', params: {} }]);
  });

  it('codes the supervisor\'s and the session manager\'s own reasons', () => {
    expect(sessionReasons('no segments for 12 s')).toEqual([{ code: 'stream_stale', params: { seconds: 12 } }]);
    expect(sessionReasons('this gateway node is at its limit of transcoding sessions')).toEqual([{ code: 'stream_transcode_limit', params: {} }]);
    expect(sessionReasons('this gateway node is at its limit of 64 sessions')).toEqual([{ code: 'stream_session_limit', params: { limit: 64 } }]);
    expect(sessionReasons('URL refused: url: credentials are never put on ffmpeg\'s command line')).toEqual([{ code: 'stream_url_refused', params: {} }]);
    expect(sessionReasons('could not start: EMFILE')).toEqual([{ code: 'stream_spawn', params: {} }]);
    expect(sessionReasons('cannot start recording: disk gone')).toEqual([{ code: 'recording_not_started', params: {} }]);
  });

  it('gives no cause for a text it does not know (the alarm shows the text)', () => {
    expect(sessionReasons('RTSP 401 Unauthorized')).toEqual([]);
    expect(sessionReasons('  ')).toEqual([]);
    expect(sessionReasons(null)).toEqual([]);
  });
});

describe('the web\'s wording of the codes', () => {
  it('has every code in both languages, and no wording for a code the server does not have', () => {
    expect(Object.keys(zhCN.alarms.reason).sort()).toEqual([...ALARM_REASON_CODES].sort());
    expect(Object.keys(en.alarms.reason).sort()).toEqual([...ALARM_REASON_CODES].sort());
  });
});
