import { mkdirSync, openSync, writeSync } from 'node:fs';
import { dirname, join, relative, isAbsolute } from 'node:path';
import type { Config } from '../config/schema.ts';
import { createLogger, routeLogs, type Logger } from '../core/log.ts';
import { StartupError } from '../core/platform.ts';

/**
 * Where a process's log lines go. For a person at a terminal (`text`, the default) the
 * terminal shows warnings and errors, one readable line each, and the whole log (JSON,
 * at SKYNET_LOG_LEVEL, `info` by default) goes to a file; request lines are `debug`
 * (core/http/app.ts) and show only when asked for. For production (`json`) every line
 * at SKYNET_LOG_LEVEL goes to standard output as JSON, as a log collector expects.
 *
 *   SKYNET_LOG_FORMAT  text | json                         (default text)
 *   SKYNET_LOG_LEVEL   trace | debug | info | warn | error (default info)
 *   SKYNET_LOG_FILE    a path, or `off`                    (text: <dataDir>/logs/skynet.log; json: off)
 */
export interface LogSettings {
  format: 'text' | 'json';
  level: LevelName;
  /** Absolute or working-directory-relative path of the JSON log file; null: none. */
  file: string | null;
}

const LEVELS = { trace: 10, debug: 20, info: 30, warn: 40, error: 50, fatal: 60 } as const;
type LevelName = keyof typeof LEVELS;
const LABELS: Record<number, string> = { 10: 'TRACE', 20: 'DEBUG', 30: 'INFO', 40: 'WARN', 50: 'ERROR', 60: 'FATAL' };
/** Fields every pino line has, which the terminal line says otherwise (or not at all). */
const HIDDEN = new Set(['level', 'time', 'pid', 'hostname', 'msg', 'v']);
const MAX_LINE = 400;

export function logSettings(env: NodeJS.ProcessEnv, dataDir: string): LogSettings {
  const format = env.SKYNET_LOG_FORMAT?.trim() || 'text';
  if (format !== 'text' && format !== 'json') throw new StartupError(`SKYNET_LOG_FORMAT = "${format}" is invalid — expected text or json`);
  const level = env.SKYNET_LOG_LEVEL?.trim() || 'info';
  if (!(level in LEVELS) && level !== 'silent') throw new StartupError(`SKYNET_LOG_LEVEL = "${level}" is invalid — expected ${Object.keys(LEVELS).join(', ')} or silent`);
  const asked = env.SKYNET_LOG_FILE?.trim();
  const file = asked === 'off' ? null : asked || (format === 'text' ? join(dataDir, 'logs', 'skynet.log') : null);
  return { format, level: level as LevelName, file };
}

/** A path as a person would type it from here: relative when it lies below the working directory. */
export function shownPath(path: string): string {
  const rel = relative(process.cwd(), path);
  return rel && !rel.startsWith('..') && !isAbsolute(rel) ? rel : path;
}

/** One pino JSON line as one readable terminal line: `16:02:03 WARN  message  key=value …`. */
export function textLine(json: string, timeZone: string): string | null {
  let entry: Record<string, unknown>;
  try { entry = JSON.parse(json) as Record<string, unknown>; } catch { return json.trimEnd(); }
  const time = new Date(typeof entry.time === 'number' ? entry.time : Date.now())
    .toLocaleTimeString('en-GB', { timeZone, hour12: false });
  const label = (LABELS[entry.level as number] ?? String(entry.level)).padEnd(5);
  const fields = Object.entries(entry)
    .filter(([k]) => !HIDDEN.has(k))
    .map(([k, v]) => `${k}=${fieldText(v)}`);
  const line = `${time} ${label} ${String(entry.msg ?? '')}${fields.length ? `  ${fields.join(' ')}` : ''}`.replace(/\s*\n\s*/g, ' ⏎ ');
  return line.length > MAX_LINE ? `${line.slice(0, MAX_LINE - 1)}…` : line;
}

function fieldText(value: unknown): string {
  if (value && typeof value === 'object' && 'message' in value) {
    const err = value as { type?: string; message?: unknown; code?: unknown };
    return JSON.stringify(`${err.code ? `${String(err.code)}: ` : ''}${String(err.message)}`);
  }
  if (typeof value === 'string') return /^[^\s"=]+$/.test(value) ? value : JSON.stringify(value);
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 120 ? `${text.slice(0, 119)}…` : text;
}

/**
 * Route every logger of this process (those made with createLogger and core/log's `log`)
 * as `settings` say, and return the process's logger. Writes are synchronous, so nothing
 * is lost when the process exits; the file stays open until then.
 */
export function setupLogging(settings: LogSettings, timeZone: string): { log: Logger; file: string | null } {
  let fd: number | null = null;
  let file = settings.file;
  let fileError: string | null = null;
  if (file) {
    try {
      mkdirSync(dirname(file), { recursive: true });
      fd = openSync(file, 'a', 0o640);
    } catch (err) {
      fileError = `cannot write the log file ${file} (${(err as Error).message}): logging to the terminal only`;
      file = null;
    }
  }
  const terminalMin = Math.max(LEVELS.warn, LEVELS[settings.level] ?? Infinity);
  routeLogs((line) => {
    if (settings.format === 'json') {
      process.stdout.write(line);
      if (fd !== null) writeSync(fd, line);
      return;
    }
    if (fd !== null) writeSync(fd, line);
    const level = Number(/"level":(\d+)/.exec(line)?.[1] ?? LEVELS.info);
    // Without a file, the terminal is the only place left: it shows every line then.
    if (level >= terminalMin || fd === null) {
      const text = textLine(line, timeZone);
      if (text) process.stderr.write(`${text}\n`);
    }
  });
  const log = createLogger({ level: settings.level });
  if (fileError) log.warn(fileError);
  return { log, file };
}

/** The settings for a configured process (SKYNET_* environment, the configured data directory). */
export function processLogging(config: Config, env: NodeJS.ProcessEnv = process.env) {
  const settings = logSettings(env, config.dataDir);
  return { settings, ...setupLogging(settings, config.site.timezone) };
}
