import { describe, expect, it } from 'vitest';
import { crossSiteVerdict, normaliseOrigin } from '../../core/identity/guard.ts';

const own = ['http://127.0.0.1:8080', 'https://video.example.gov'];

describe('crossSiteVerdict', () => {
  it.each([
    ['the console itself', { origin: 'http://127.0.0.1:8080' }, 'ok'],
    ['a configured public origin', { origin: 'https://video.example.gov' }, 'ok'],
    ['the configured origin with its default port written out', { origin: 'https://video.example.gov:443' }, 'ok'],
    ['another site', { origin: 'http://evil.example' }, 'cross_site'],
    ['the same host on another port (same site)', { origin: 'http://127.0.0.1:18999' }, 'cross_site'],
    ['the same host over another scheme', { origin: 'https://127.0.0.1:8080' }, 'cross_site'],
    ['Origin: null (sandboxed frame)', { origin: 'null' }, 'cross_site'],
    ['a garbled Origin', { origin: 'not a url' }, 'cross_site'],
    ['Origin wins over a friendly Sec-Fetch-Site', { origin: 'http://evil.example', secFetchSite: 'same-origin' }, 'cross_site'],
    ['no Origin, Sec-Fetch-Site same-origin', { secFetchSite: 'same-origin' }, 'ok'],
    ['no Origin, Sec-Fetch-Site none (typed by the user)', { secFetchSite: 'none' }, 'ok'],
    ['no Origin, Sec-Fetch-Site same-site', { secFetchSite: 'same-site' }, 'cross_site'],
    ['no Origin, Sec-Fetch-Site cross-site', { secFetchSite: 'cross-site' }, 'cross_site'],
    ['neither header (a script holding the cookie)', {}, 'ok'],
  ] as const)('%s → %s', (_what, headers, verdict) => {
    expect(crossSiteVerdict(headers, own)).toBe(verdict);
  });

  it('normalises origins as browsers write them', () => {
    expect(normaliseOrigin('HTTP://Console.Example:80/')).toBe('http://console.example');
    expect(normaliseOrigin('null')).toBeNull();
  });
});
