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

export class UrlRefused extends Error {
  constructor(readonly field: string, message: string) {
    super(message);
    this.name = 'UrlRefused';
  }
}

/**
 * Parse and check a media URL. Returns the URL without credentials and the
 * credentials separately (they are stored encrypted, never in a URL column).
 */
export function checkMediaUrl(raw: string, field: string, allowed: readonly MediaScheme[] = MEDIA_SCHEMES): { url: string; scheme: MediaScheme; username?: string; password?: string } {
  if (typeof raw !== 'string' || raw.length === 0) throw new UrlRefused(field, `${field} must be a URL`);
  if (raw.length > 2048) throw new UrlRefused(field, `${field} is longer than 2048 characters`);
  // Control characters and spaces would let a value carry a second argument or header.
  if (/[\u0000-\u0020\u007f]/.test(raw)) throw new UrlRefused(field, `${field} contains spaces or control characters`);
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    throw new UrlRefused(field, `${field} is not a valid URL`);
  }
  const scheme = u.protocol.replace(/:$/, '').toLowerCase();
  if (!(allowed as readonly string[]).includes(scheme)) {
    throw new UrlRefused(field, `${field} must use ${allowed.join(', ')} (got ${scheme}:)`);
  }
  if (!u.hostname) throw new UrlRefused(field, `${field} has no host`);
  const username = u.username ? decodeURIComponent(u.username) : undefined;
  const password = u.password ? decodeURIComponent(u.password) : undefined;
  u.username = '';
  u.password = '';
  return { url: u.toString(), scheme: scheme as MediaScheme, username, password };
}

/** Put credentials into a checked URL for ffmpeg's own use (never logged: see core/log scrubUrl). */
export function withCredentials(url: string, username?: string | null, password?: string | null): string {
  if (!username) return url;
  const u = new URL(url);
  u.username = encodeURIComponent(username);
  if (password) u.password = encodeURIComponent(password);
  return u.toString();
}
