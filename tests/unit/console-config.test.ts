import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../config/load.ts';

const load = (env: Record<string, string>) => loadConfig({ env, file: undefined });

describe('console settings', () => {
  it('trusts no proxy and allows no other origin by default, with the documented login windows', () => {
    const c = load({}).console;
    expect(c.trustProxy).toBe(false);
    expect(c.allowedOrigins).toEqual([]);
    expect(c.login).toEqual({ accountIpFailures: 5, accountIpWindowSeconds: 60, ipFailures: 20, ipWindowSeconds: 600, accountFailures: 20, accountWindowSeconds: 900 });
  });

  it.each([
    ['true', true],
    ['false', false],
    ['2', 2],
    ['10.0.0.0/8, 192.168.1.5', '10.0.0.0/8,192.168.1.5'],
    ['fd00::/8', 'fd00::/8'],
  ] as const)('reads SKYNET_TRUST_PROXY=%s', (value, expected) => {
    expect(load({ SKYNET_TRUST_PROXY: value }).console.trustProxy).toEqual(expected);
  });

  it.each(['10.0.0.0/33', '10.0.0.300', 'proxy.example'])('refuses SKYNET_TRUST_PROXY=%s naming the field', (value) => {
    expect(() => load({ SKYNET_TRUST_PROXY: value })).toThrow(/console\.trustProxy .*from SKYNET_TRUST_PROXY/);
  });

  it('reads allowed origins as a comma list and refuses one with a path', () => {
    expect(load({ SKYNET_ALLOWED_ORIGINS: 'https://video.example.gov, http://10.1.1.1:8080' }).console.allowedOrigins)
      .toEqual(['https://video.example.gov', 'http://10.1.1.1:8080']);
    expect(() => load({ SKYNET_ALLOWED_ORIGINS: 'https://video.example.gov/console' })).toThrow(/console\.allowedOrigins\.0 .*from SKYNET_ALLOWED_ORIGINS.*an origin such as/);
  });

  it('keeps SKYNET_LOGIN_ATTEMPTS_PER_MINUTE as the account+address limit', () => {
    expect(load({ SKYNET_LOGIN_ATTEMPTS_PER_MINUTE: '8' }).console.login.accountIpFailures).toBe(8);
  });
});
