// Why an alarm was raised, as stable codes with parameters (pure, unit-tested): the gateway's
// reason texts are English sentences for logs; an alarm also carries `reasonCode` and `reasons`
// so the console words them in the user's language (console/web i18n `alarms.reason.<code>`).
// The raw text stays in `details.reason`: a code the web does not know shows the text instead.

/** Every code an alarm reason can have; the web has a wording for each (a unit test checks both lists). */
export const ALARM_REASON_CODES = [
  // health check (device_offline / device_online): the ONVIF and RTSP probes of gateway/health
  'onvif_refused', 'onvif_unreachable', 'onvif_timeout', 'onvif_auth', 'onvif_protocol', 'onvif_unsupported', 'onvif_failed',
  'rtsp_refused', 'rtsp_unreachable', 'rtsp_timeout', 'rtsp_protocol', 'rtsp_failed',
  'device_refused', 'device_unreachable', 'device_timeout',
  'password_unreadable',
  // stream sessions (session_failed): gateway/streams decide.ts, supervisor.ts, rtsp-relay.ts, sessions.ts
  'stream_disk', 'stream_auth', 'stream_forbidden', 'stream_not_found', 'stream_protocol', 'stream_refused', 'stream_timeout',
  'stream_unreachable', 'stream_lost', 'stream_invalid_data', 'stream_ended', 'stream_exit', 'stream_killed', 'stream_spawn',
  'stream_stale', 'stream_transcode_limit', 'stream_url_refused', 'stream_session_limit', 'recording_not_started',
] as const;
export type AlarmReasonCode = (typeof ALARM_REASON_CODES)[number];

/** One cause: a code and the facts its wording needs (an address, an exit code, seconds). */
export interface AlarmReason {
  code: AlarmReasonCode;
  params: Record<string, string | number>;
}

/** What alarm details gain: the first cause's code (for grouping and filtering), and every cause in order. */
export interface ReasonFields {
  reasonCode: AlarmReasonCode | null;
  reasons: AlarmReason[];
}

/** The fields of a list of causes: null and [] when none is known (the web then shows the raw text). */
export function reasonFields(reasons: AlarmReason[]): ReasonFields {
  return { reasonCode: reasons[0]?.code ?? null, reasons };
}

// ---------------------------------------------------------------------------------------------------
// Health check

/** A probe's outcome as gateway/health/judge.ts CheckResult has it (declared here: the console does not import the gateway). */
export type ProbeOutcome = { ok: true } | { ok: false; code: string; message: string };

/** What the health scheduler knew when the state changed: the probes' outcomes and what they probed. */
export interface HealthProbe {
  onvif?: ProbeOutcome;
  rtsp?: ProbeOutcome;
  /** `host:port` of the ONVIF service. */
  onvifAddress?: string | null;
  /** The RTSP URL probed; only its host and port are kept (never credentials or path). */
  rtspUrl?: string | null;
  /** Set when the stored password cannot be decrypted (gateway/devices service). */
  credentialError?: string | null;
}

const ONVIF_CODES: Record<string, AlarmReasonCode> = {
  unreachable: 'onvif_unreachable', timeout: 'onvif_timeout', auth: 'onvif_auth', protocol: 'onvif_protocol', unsupported: 'onvif_unsupported',
};
const RTSP_CODES: Record<string, AlarmReasonCode> = { unreachable: 'rtsp_unreachable', timeout: 'rtsp_timeout', protocol: 'rtsp_protocol' };

/** `host:port` of an RTSP URL (554 when none is written), or null when it does not parse. */
export function rtspAddress(url: string | null | undefined): string | null {
  if (!url) return null;
  try {
    const u = new URL(url);
    if (!u.hostname) return null;
    return `${u.hostname}:${u.port || (u.protocol === 'rtsps:' ? '322' : '554')}`;
  } catch {
    return null;
  }
}

/** The host of a `host:port` address (`[v6]:port` keeps its brackets). */
function hostOf(address: string): string {
  return address.replace(/:\d+$/, '');
}

/** Both probes failing the same way on one host read as one cause of the device. */
const BOTH: Partial<Record<AlarmReasonCode, AlarmReasonCode>> = { onvif_refused: 'device_refused', onvif_unreachable: 'device_unreachable', onvif_timeout: 'device_timeout' };
const RTSP_OF: Partial<Record<AlarmReasonCode, AlarmReasonCode>> = { onvif_refused: 'rtsp_refused', onvif_unreachable: 'rtsp_unreachable', onvif_timeout: 'rtsp_timeout' };

/**
 * The causes of a health verdict: each failed probe, ONVIF first (as judge.ts joins its messages);
 * "refused" is told apart from other unreachable answers by the probe's message (nothing listens
 * on the port: the device is up but the service is off, or the address is wrong). Both probes
 * failing the same way on the same host are one cause (`device_*`, the host as `address`): the
 * usual offline camera reads as one short line. With no failed probe, an unreadable stored
 * password is the cause.
 */
export function healthReasons(probe: HealthProbe | undefined): AlarmReason[] {
  if (!probe) return [];
  const reasons: AlarmReason[] = [];
  const { onvif, rtsp } = probe;
  if (onvif && !onvif.ok) {
    const refused = onvif.code === 'unreachable' && /refused/i.test(onvif.message);
    reasons.push({ code: refused ? 'onvif_refused' : ONVIF_CODES[onvif.code] ?? 'onvif_failed', params: { address: probe.onvifAddress ?? '' } });
  }
  if (rtsp && !rtsp.ok) {
    const refused = rtsp.code === 'unreachable' && /ECONNREFUSED|refused/i.test(rtsp.message);
    reasons.push({ code: refused ? 'rtsp_refused' : RTSP_CODES[rtsp.code] ?? 'rtsp_failed', params: { address: rtspAddress(probe.rtspUrl) ?? '' } });
  }
  const [a, b] = reasons;
  if (a && b && RTSP_OF[a.code] === b.code && a.params.address && hostOf(String(a.params.address)) === hostOf(String(b.params.address))) {
    return [{ code: BOTH[a.code]!, params: { address: hostOf(String(a.params.address)) } }];
  }
  if (reasons.length === 0 && probe.credentialError) reasons.push({ code: 'password_unreadable', params: {} });
  return reasons;
}

// ---------------------------------------------------------------------------------------------------
// Stream sessions

/** The fixed reason texts of the gateway's stream code, word for word. */
const SESSION_TEXTS: Record<string, AlarmReasonCode> = {
  'no space left on device': 'stream_disk',
  'authentication refused by camera': 'stream_auth',
  'access forbidden by camera (403)': 'stream_forbidden',
  'stream not found on camera (404)': 'stream_not_found',
  'protocol not allowed for this URL': 'stream_protocol',
  'connection refused': 'stream_refused',
  'connection timed out': 'stream_timeout',
  'camera unreachable': 'stream_unreachable',
  'connection to camera lost': 'stream_lost',
  'invalid data from camera': 'stream_invalid_data',
  'stream ended': 'stream_ended',
  'this gateway node is at its limit of transcoding sessions': 'stream_transcode_limit',
};

/** Reason texts with a variable part: the pattern, its code, and the parameters it captures. */
const SESSION_PATTERNS: [RegExp, AlarmReasonCode, (m: RegExpMatchArray) => Record<string, string | number>][] = [
  [/^ffmpeg exited with code (-?\d+)$/, 'stream_exit', (m) => ({ code: Number(m[1]) })],
  [/^ffmpeg killed by (\w+)$/, 'stream_killed', (m) => ({ signal: m[1]! })],
  [/^no segments for (\d+) s$/, 'stream_stale', (m) => ({ seconds: Number(m[1]) })],
  [/^URL refused: /, 'stream_url_refused', () => ({})],
  [/^(?:ffmpeg )?could not start: /, 'stream_spawn', () => ({})],
  [/^cannot start recording: /, 'recording_not_started', () => ({})],
  [/^this gateway node is at its limit of (\d+) sessions$/, 'stream_session_limit', (m) => ({ limit: Number(m[1]) })],
];

/**
 * The cause of a failed stream session from the reason text the gateway's stream code gives
 * (its texts are fixed and kept short for exactly this: gateway/streams/decide.ts). A text not
 * known here gives no cause, and the alarm shows the raw text.
 */
export function sessionReasons(reason: string | null | undefined): AlarmReason[] {
  const text = reason?.trim();
  if (!text) return [];
  const exact = SESSION_TEXTS[text];
  if (exact) return [{ code: exact, params: {} }];
  for (const [re, code, params] of SESSION_PATTERNS) {
    const m = text.match(re);
    if (m) return [{ code, params: params(m) }];
  }
  return [];
}
