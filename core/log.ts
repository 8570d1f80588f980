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

/** Request lines without credentials: media tokens ride in URLs (`?token=`), and URLs are logged. */
const serializers = {
  req: (req: { method?: string; url?: string; ip?: string; socket?: { remotePort?: number } }) => ({
    method: req.method, url: req.url ? scrubUrl(req.url) : req.url, remoteAddress: req.ip, remotePort: req.socket?.remotePort,
  }),
};

export function createLogger(options: LoggerOptions = {}, destination?: pino.DestinationStream): Logger {
  const opts: LoggerOptions = {
    level: process.env.SKYNET_LOG_LEVEL ?? (process.env.VITEST ? 'silent' : 'info'),
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    serializers,
    ...options,
  };
  return destination ? pino(opts, destination) : pino(opts);
}

/**
 * Remove user:password from every URL in a string, password-like query values,
 * and RTMP stream keys (the last path part of rtmp://host/app/KEY is the secret).
 */
export function scrubUrl(text: string): string {
  return text
    .replace(/([a-z][a-z0-9+.-]*:\/\/)([^/@\s:]+)(:[^/@\s]*)?@/gi, '$1***:***@')
    .replace(/(rtmps?:\/\/[^\s/]+\/[^\s/]+\/)[^\s?'"]+/gi, '$1***')
    .replace(/([?&](?:password|pass|pwd|token|key|secret)=)[^&\s"']*/gi, '$1***');
}

export const log = createLogger();
export type { Logger };
