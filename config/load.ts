import { readFileSync, existsSync } from 'node:fs';
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
    node = node?.properties?.[key] ?? node?.anyOf?.find((s: any) => s.properties?.[key])?.properties?.[key];
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
    throw new ConfigError(field, getPath(tree, parts), expected, origin.get(field) ?? 'configuration');
  }
  const config = withDefaults as Config;
  checkCrossFields(config, origin);
  return config;
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
  if (config.console.port !== 0 && config.console.port === config.gateway.port && config.console.host === config.gateway.host) {
    throw new ConfigError('gateway.port', config.gateway.port, 'a port different from console.port', origin.get('gateway.port') ?? 'configuration');
  }
}
