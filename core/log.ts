import pino, { type Logger, type LoggerOptions } from 'pino';

/**
 * One logger for every process. Secrets never reach a line: the paths below are
 * censored wherever they appear, and `scrubUrl` removes credentials from URLs
 * before they are logged (ffmpeg command lines, camera URIs, error messages).
 */
export const REDACT_PATHS = [
  'password', '*.password', '*.*.password',
  'passwordEnc', '*.passwordEnc',
  'token', '*.token', 'apiToken', '*.apiToken',
  'secret', '*.secret', '*.secretKey', 'secretKey',
  'req.headers.authorization', 'req.headers.cookie', 'res.headers["set-cookie"]',
  'headers.authorization', 'headers.cookie',
];

/** Request lines without credentials: media tokens ride in URL paths, and URLs are logged. */
const serializers = {
  req: (req: { method?: string; url?: string; ip?: string; socket?: { remotePort?: number } }) => ({
    method: req.method, url: req.url ? scrubUrl(req.url) : req.url, remoteAddress: req.ip, remotePort: req.socket?.remotePort,
  }),
};

/**
 * Where loggers made without a destination write: standard output, until a process's
 * entry point routes the lines elsewhere (bin/logging.ts: terminal and file).
 */
let sink: (line: string) => void = (line) => { process.stdout.write(line); };
const processStream = { write: (line: string) => sink(line) };
export function routeLogs(write: (line: string) => void): void { sink = write; }

export function createLogger(options: LoggerOptions = {}, destination?: pino.DestinationStream): Logger {
  const opts: LoggerOptions = {
    level: process.env.SKYNET_LOG_LEVEL ?? (process.env.VITEST ? 'silent' : 'info'),
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    serializers,
    ...options,
  };
  return pino(opts, destination ?? processStream);
}

/**
 * Remove media tokens from a path or message: in a media path the token is the segment
 * after the camera (`/media/live/<device>/<token>/…`, `/media/vod/<device>/<token>/…`).
 */
export function scrubMediaPath(text: string): string {
  return text
    .replace(/(\/media\/(?:live|vod)\/[^/\s?#'"]+\/)[^/\s?#'"]+/gi, '$1***')
    // Wherever else one turns up: a signed token is base64url('{"…') '.' base64url(mac).
    .replace(/eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{20,}/g, '***');
}

/**
 * Remove user:password from every URL in a string, password-like query values,
 * RTMP stream keys (the last path part of rtmp://host/app/KEY is the secret) and
 * media tokens in media paths.
 */
export function scrubUrl(text: string): string {
  return scrubMediaPath(text
    .replace(/([a-z][a-z0-9+.-]*:\/\/)([^/@\s:]+)(:[^/@\s]*)?@/gi, '$1***:***@')
    .replace(/(rtmps?:\/\/[^\s/]+\/[^\s/]+\/)[^\s?'"]+/gi, '$1***')
    .replace(/([?&](?:password|pass|pwd|token|key|secret)=)[^&\s"']*/gi, '$1***'));
}

export const log = createLogger();
export type { Logger };
