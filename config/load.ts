import { readFileSync, existsSync } from 'node:fs';
import { isIP } from 'node:net';
import { resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import Value from 'typebox/value';
import { ConfigSchema, ENV_MAP, type Config } from './schema.ts';

/** A configuration refusal: one line naming the field, the value and the expected form. */
export class ConfigError extends Error {
  constructor(readonly field: string, readonly value: unknown, readonly expected: string, readonly source: string) {
    super(`config: ${field} = ${JSON.stringify(value)} (${source}) is invalid — expected ${expected}`);
    this.name = 'ConfigError';
  }
}

type Tree = Record<string, unknown>;

function setPath(tree: Tree, path: string, value: unknown): void {
  const keys = path.split('.');
  let node = tree;
  for (const key of keys.slice(0, -1)) {
    if (typeof node[key] !== 'object' || node[key] === null) node[key] = {};
    node = node[key] as Tree;
  }
  node[keys[keys.length - 1]!] = value;
}

function getPath(tree: unknown, parts: string[]): unknown {
  let node = tree;
  for (const key of parts) {
    if (typeof node !== 'object' || node === null) return undefined;
    node = (node as Tree)[key];
  }
  return node;
}

/** The sub-schema at a JSON pointer such as `/gateway/port`. */
function schemaAt(parts: string[]): { description?: string } | undefined {
  let node: any = ConfigSchema;
  for (const key of parts) {
    node = (/^\d+$/.test(key) && node?.items) || node?.properties?.[key] || node?.anyOf?.find((s: any) => s.properties?.[key])?.properties?.[key];
    if (!node) return undefined;
  }
  return node;
}

export interface LoadOptions {
  env?: NodeJS.ProcessEnv;
  /** Path of the YAML file; defaults to $SKYNET_CONFIG, then ./skynet.yaml when it exists. */
  file?: string;
  /** Values that win over everything (tests, CLI flags). */
  overrides?: Tree;
}

/**
 * Environment variables win over `skynet.yaml`, which wins over defaults. A wrong
 * value throws ConfigError (the CLI prints its one line and exits 1).
 */
export function loadConfig(options: LoadOptions = {}): Config {
  const env = options.env ?? process.env;
  const origin = new Map<string, string>();
  let tree: Tree = {};

  const file = options.file ?? env.SKYNET_CONFIG ?? (existsSync('skynet.yaml') ? 'skynet.yaml' : undefined);
  if (file) {
    const path = resolve(file);
    if (!existsSync(path)) throw new ConfigError('SKYNET_CONFIG', file, 'the path of a readable YAML file', 'environment');
    let parsed: unknown;
    try {
      parsed = parseYaml(readFileSync(path, 'utf8'));
    } catch (err) {
      throw new ConfigError(file, '(file)', `valid YAML (${(err as Error).message.split('\n')[0]})`, file);
    }
    if (parsed !== null && parsed !== undefined) {
      if (typeof parsed !== 'object' || Array.isArray(parsed)) throw new ConfigError(file, '(file)', 'a YAML mapping at the top level', file);
      tree = parsed as Tree;
    }
    markOrigins(tree, [], file, origin);
  }

  for (const [name, path] of Object.entries(ENV_MAP)) {
    const raw = env[name];
    if (raw === undefined || raw === '') continue;
    setPath(tree, path, raw);
    origin.set(path, `from ${name}`);
  }
  for (const [path, value] of Object.entries(options.overrides ?? {})) setPath(tree, path, value);
  normaliseConsole(tree);

  const withDefaults = Value.Default(ConfigSchema, Value.Convert(ConfigSchema, structuredClone(tree))) as unknown;
  const errors = [...Value.Errors(ConfigSchema, withDefaults)];
  if (errors.length > 0) {
    // The deepest error on the first failing path names the field best.
    const first = errors[0]!;
    const parts = first.instancePath.split('/').filter(Boolean);
    const field = parts.join('.') || '(root)';
    const unknownKey = first.keyword === 'additionalProperties' ? String((first.params as { additionalProperty?: string }).additionalProperty) : undefined;
    if (unknownKey) throw new ConfigError(field ? `${field}.${unknownKey}` : unknownKey, '(unknown key)', 'one of the documented keys', 'configuration');
    const expected = schemaAt(parts)?.description ?? first.message;
    const source = origin.get(field) ?? origin.get(parts.filter((p) => !/^\d+$/.test(p)).join('.')) ?? 'configuration';
    throw new ConfigError(field, getPath(tree, parts), expected, source);
  }
  const config = withDefaults as Config;
  checkCrossFields(config, origin);
  return config;
}

/**
 * Settings an environment variable can only spell as text: `console.allowedOrigins` as a
 * comma list, `console.trustProxy` as true/false, a hop count or a comma list of proxies.
 */
function normaliseConsole(tree: Tree): void {
  const c = tree.console as Tree | undefined;
  if (!c || typeof c !== 'object') return;
  if (typeof c.allowedOrigins === 'string') c.allowedOrigins = c.allowedOrigins.split(',').map((o) => o.trim()).filter(Boolean);
  if (typeof c.trustProxy === 'string') {
    const v = c.trustProxy.trim();
    if (v === 'true' || v === 'false') c.trustProxy = v === 'true';
    else if (/^\d+$/.test(v)) c.trustProxy = Number(v);
    else c.trustProxy = v.split(',').map((p) => p.trim()).filter(Boolean).join(',');
  }
}

/** A proxy address as proxy-addr takes it: an IP, or an IP/prefix. */
function isProxyAddress(entry: string): boolean {
  const [ip, bits, ...rest] = entry.split('/');
  if (rest.length || !ip) return false;
  const family = isIP(ip);
  if (!family) return false;
  if (bits === undefined) return true;
  const n = Number(bits);
  return /^\d+$/.test(bits) && n >= 0 && n <= (family === 4 ? 32 : 128);
}

function markOrigins(tree: unknown, prefix: string[], file: string, origin: Map<string, string>): void {
  if (typeof tree !== 'object' || tree === null) return;
  for (const [key, value] of Object.entries(tree)) {
    const path = [...prefix, key];
    origin.set(path.join('.'), `from ${file}`);
    markOrigins(value, path, file, origin);
  }
}

function checkCrossFields(config: Config, origin: Map<string, string>): void {
  try {
    new Intl.DateTimeFormat('en', { timeZone: config.site.timezone });
  } catch {
    throw new ConfigError('site.timezone', config.site.timezone, 'an IANA time zone such as Asia/Shanghai', origin.get('site.timezone') ?? 'configuration');
  }
  if (typeof config.console.trustProxy === 'string' && !config.console.trustProxy.split(',').every(isProxyAddress)) {
    throw new ConfigError('console.trustProxy', config.console.trustProxy, 'false, true, a hop count from 1 to 10, or a comma list of proxy IPs/CIDRs', origin.get('console.trustProxy') ?? 'configuration');
  }
  if (config.console.port !== 0 && config.console.port === config.gateway.port && config.console.host === config.gateway.host) {
    throw new ConfigError('gateway.port', config.gateway.port, 'a port different from console.port', origin.get('gateway.port') ?? 'configuration');
  }
  if (config.retention.lowWaterPercent >= config.retention.highWaterPercent) {
    throw new ConfigError('retention.lowWaterPercent', config.retention.lowWaterPercent, `a percentage below retention.highWaterPercent (${config.retention.highWaterPercent})`, origin.get('retention.lowWaterPercent') ?? 'configuration');
  }
  if (config.gateway.internalPort !== 0 && config.gateway.internalPort === config.gateway.port) {
    throw new ConfigError('gateway.internalPort', config.gateway.internalPort, 'a port different from gateway.port', origin.get('gateway.internalPort') ?? 'configuration');
  }
  for (const field of ['ringRadiiMeters', 'responseTargetsSeconds'] as const) {
    const [a, b, c] = config.linkage[field];
    if (!(a < b && b < c)) {
      throw new ConfigError(`linkage.${field}`, JSON.stringify(config.linkage[field]), 'three increasing numbers (管控圈 < 防控圈 < 封控圈; 1 < 3 < 5 minutes)', origin.get(`linkage.${field}`) ?? 'configuration');
    }
  }
}
