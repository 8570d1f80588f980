import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../config/load.ts';

const load = (env: Record<string, string>, file?: string) => loadConfig({ env, file });

describe('configuration', () => {
  it('has defaults that work on this machine kind', () => {
    const c = load({});
    expect(c.database.url).toBe('postgres://postgres@127.0.0.1:5432/skynet');
    expect(c.redis.url).toBe('redis://127.0.0.1:6379');
    expect(c.console.port).toBe(8080);
    expect(c.gateway.port).toBe(8090);
    expect(c.site.timezone).toBe('Asia/Shanghai');
    expect(c.demo).toBe('auto');
  });

  it.each([
    [{ SKYNET_GATEWAY_PORT: 'abc' }, 'config: gateway.port = "abc" (from SKYNET_GATEWAY_PORT) is invalid — expected a TCP port, an integer from 1 to 65535 (0: any free port)'],
    [{ SKYNET_CONSOLE_PORT: '70000' }, 'console.port = "70000"'],
    [{ SKYNET_DATABASE_URL: 'mysql://root@localhost/skynet' }, 'expected a postgres:// connection URL'],
    [{ SKYNET_REDIS_URL: 'localhost:6379' }, 'redis.url'],
    [{ SKYNET_TIMEZONE: 'Mars/Olympus' }, 'site.timezone = "Mars/Olympus"'],
    [{ SKYNET_DEMO: 'maybe' }, 'expected auto, true or false'],
    [{ SKYNET_SECRET_KEY: 'short' }, 'expected 32 bytes in base64'],
    [{ SKYNET_ADMIN_PASSWORD: 'abc' }, 'admin.password'],
    [{ SKYNET_CONSOLE_PORT: '9000', SKYNET_GATEWAY_PORT: '9000', SKYNET_GATEWAY_HOST: '0.0.0.0' }, 'a port different from console.port'],
    [{ SKYNET_RETENTION_HIGH_WATER: '80', SKYNET_RETENTION_LOW_WATER: '85' }, 'config: retention.lowWaterPercent = 85 (from SKYNET_RETENTION_LOW_WATER) is invalid — expected a percentage below retention.highWaterPercent (80)'],
    [{ SKYNET_RETENTION_HIGH_WATER: '100' }, 'retention.highWaterPercent = "100"'],
    [{ SKYNET_WORKERS_SHARED_MEDIA: 'sometimes' }, 'workers.sharedMedia = "sometimes"'],
    [{ SKYNET_MAX_EXPORT_HOURS: '0' }, 'evidence.maxExportHours = "0"'],
  ])('refuses %o in one line naming the field, value and expected form', (env, message) => {
    let error: unknown;
    try { load(env); } catch (err) { error = err; }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as Error).message).toContain(message);
    expect((error as Error).message).not.toContain('\n');
  });

  it('refuses rings or response targets that do not increase, and takes the linkage from skynet.yaml', () => {
    const dir = mkdtempSync(join(tmpdir(), 'skynet-config-'));
    const file = join(dir, 'skynet.yaml');
    writeFileSync(file, 'linkage:\n  ringRadiiMeters: [3000, 1000, 5000]\n');
    let error: unknown;
    try { loadConfig({ env: { SKYNET_CONFIG: file }, file: undefined }); } catch (err) { error = err; }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as Error).message).toContain('linkage.ringRadiiMeters = "[3000,1000,5000]"');
    expect((error as Error).message).toContain('three increasing numbers');
    writeFileSync(file, 'linkage:\n  ringRadiiMeters: [500, 2000, 4000]\n  ackTimeoutSeconds: 30\n');
    const c = loadConfig({ env: { SKYNET_CONFIG: file, SKYNET_ROUTING_URL: 'http://osrm.gov.local:5000' }, file: undefined });
    expect(c.linkage).toMatchObject({ ringRadiiMeters: [500, 2000, 4000], ackTimeoutSeconds: 30, routingUrl: 'http://osrm.gov.local:5000', responseTargetsSeconds: [60, 180, 300] });
    rmSync(dir, { recursive: true, force: true });
  });

  it('reads skynet.yaml, and the environment wins over it', () => {
    const dir = mkdtempSync(join(tmpdir(), 'skynet-config-'));
    const file = join(dir, 'skynet.yaml');
    writeFileSync(file, 'site:\n  name: 测试县公安局\ngateway:\n  port: 9100\n  maxSessions: 10\n');
    const c = load({ SKYNET_GATEWAY_PORT: '9200' }, file);
    expect(c.site.name).toBe('测试县公安局');
    expect(c.gateway.maxSessions).toBe(10);
    expect(c.gateway.port).toBe(9200);
  });

  it('names the file when a YAML value is wrong, and refuses a broken file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'skynet-config-'));
    const file = join(dir, 'skynet.yaml');
    writeFileSync(file, 'health:\n  concurrency: lots\n');
    expect(() => load({}, file)).toThrow(`health.concurrency = "lots" (from ${file})`);
    writeFileSync(file, 'site: [unclosed\n');
    expect(() => load({}, file)).toThrow(/valid YAML/);
    expect(() => load({}, join(dir, 'missing.yaml'))).toThrow(/readable YAML file/);
  });
});
