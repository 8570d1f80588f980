import { badRequest, type HttpError } from '../../core/http/errors.ts';

/**
 * The only gate between a URL someone typed (or a camera reported) and ffmpeg.
 * ffmpeg opens whatever protocol a URL names — `file:`, `concat:`, `subfile:`,
 * `data:`, `pipe:` would read the gateway's own disk — so every URL is parsed
 * and its scheme checked against this allow-list when it is stored and again
 * right before ffmpeg sees it, and ffmpeg runs with the matching
 * `-protocol_whitelist`.
 */
export const MEDIA_SCHEMES = ['rtsp', 'rtsps', 'rtmp', 'http', 'https'] as const;
export type MediaScheme = (typeof MEDIA_SCHEMES)[number];

/** What ffmpeg may open for an input of each scheme (the transport layers under it included). */
export const PROTOCOL_WHITELIST: Record<MediaScheme, string> = {
  rtsp: 'rtsp,rtp,srtp,udp,tcp',
  rtsps: 'rtsps,rtsp,rtp,srtp,udp,tcp,tls',
  rtmp: 'rtmp,tcp',
  http: 'http,tcp,hls,httpproxy',
  https: 'https,http,tcp,tls,hls,httpproxy',
};

/** Why a URL was refused, as a stable code the web app words (console/web/src/i18n/api-errors/devices.ts). */
export type UrlRefusalCode = 'url.invalid' | 'url.scheme' | 'url.no_host' | 'url.too_long' | 'url.control_chars';

export class UrlRefused extends Error {
  readonly code: UrlRefusalCode;
  readonly params: Record<string, string | number>;

  /** `detail`: the code alone, or the code and its parameters (default `url.invalid`). */
  constructor(readonly field: string, message: string, detail: UrlRefusalCode | { code: UrlRefusalCode; params?: Record<string, string | number> } = { code: 'url.invalid' }) {
    super(message);
    this.name = 'UrlRefused';
    const d = typeof detail === 'string' ? { code: detail } : detail;
    this.code = d.code;
    this.params = d.params ?? {};
  }

  /** The 400 an API answers with: the field, the code and its parameters. */
  toHttp(): HttpError {
    return badRequest(this.message, { field: this.field, code: this.code, params: { field: this.field, ...this.params } });
  }
}

export const MAX_URL_LENGTH = 2048;

// A host name (labels of letters, digits, - and _), an IPv4 address, or an IPv6 address in brackets.
const HOST = /^(?:[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?)(?:\.[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?)*$|^\[[0-9A-Fa-f:.]+\]$/;

function decoded(value: string, field: string, part: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    throw new UrlRefused(field, `${field} has a malformed percent-encoding in its ${part}`, { code: 'url.invalid', params: { part } });
  }
}

/**
 * Parse and check a media URL. Returns the URL without credentials and the
 * credentials separately (they are stored encrypted, never in a URL column).
 * Every refusal is a UrlRefused with a code (`url.invalid`, `url.scheme`,
 * `url.no_host`, `url.too_long`, `url.control_chars`); nothing else is thrown.
 */
export function checkMediaUrl(raw: string, field: string, allowed: readonly MediaScheme[] = MEDIA_SCHEMES): { url: string; scheme: MediaScheme; username?: string; password?: string } {
  if (typeof raw !== 'string' || raw.length === 0) throw new UrlRefused(field, `${field} must be a URL`, { code: 'url.invalid' });
  if (raw.length > MAX_URL_LENGTH) throw new UrlRefused(field, `${field} is longer than ${MAX_URL_LENGTH} characters`, { code: 'url.too_long', params: { max: MAX_URL_LENGTH } });
  // Control characters and spaces would let a value carry a second argument or header.
  if (/[\u0000-\u0020\u007f]/.test(raw)) throw new UrlRefused(field, `${field} contains spaces or control characters`, { code: 'url.control_chars' });
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    throw new UrlRefused(field, `${field} is not a valid URL`, { code: 'url.invalid' });
  }
  const scheme = u.protocol.replace(/:$/, '').toLowerCase();
  if (!(allowed as readonly string[]).includes(scheme)) {
    throw new UrlRefused(field, `${field} must use ${allowed.join(', ')} (got ${scheme.slice(0, 20)}:)`, { code: 'url.scheme', params: { allowed: allowed.join(', '), got: scheme.slice(0, 20) } });
  }
  if (!u.hostname) throw new UrlRefused(field, `${field} has no host`, { code: 'url.no_host' });
  if (!HOST.test(u.hostname)) throw new UrlRefused(field, `${field} has an invalid host`, { code: 'url.invalid', params: { part: 'host' } });
  const username = u.username ? decoded(u.username, field, 'user name') : undefined;
  const password = u.password ? decoded(u.password, field, 'password') : undefined;
  u.username = '';
  u.password = '';
  return { url: u.toString(), scheme: scheme as MediaScheme, username, password };
}

/**
 * A URL field of an API input (stream URLs, ONVIF-reported URIs): empty → null,
 * otherwise checked by checkMediaUrl; a refusal becomes a 400 naming the field with its code.
 */
export function checkMediaUrlInput(value: string | null | undefined, field: string, allowed?: readonly MediaScheme[]): ReturnType<typeof checkMediaUrl> | null {
  if (value === null || value === undefined || value === '') return null;
  try {
    return checkMediaUrl(value, field, allowed);
  } catch (err) {
    if (err instanceof UrlRefused) throw err.toHttp();
    throw err;
  }
}

/** Put credentials into a checked URL for ffmpeg's own use (never logged: see core/log scrubUrl). */
export function withCredentials(url: string, username?: string | null, password?: string | null): string {
  if (!username) return url;
  const u = new URL(url);
  u.username = encodeURIComponent(username);
  if (password) u.password = encodeURIComponent(password);
  return u.toString();
}
