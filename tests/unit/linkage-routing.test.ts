import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRouter } from '../../console/server/linkage/routing.ts';

// Road ETAs from an OSRM-compatible routing service, against a small real HTTP server that answers
// as OSRM does (/route/v1/driving/<lon>,<lat>;<lon>,<lat>), slowly, or with garbage.
let server: Server;
let base: string;
const asked: string[] = [];

beforeAll(async () => {
  server = createServer((req, res) => {
    asked.push(req.url ?? '');
    const m = /^\/route\/v1\/driving\/([\d.]+),([\d.]+);([\d.]+),([\d.]+)\?overview=false$/.exec(req.url ?? '');
    if (!m) { res.writeHead(400).end(JSON.stringify({ code: 'InvalidUrl' })); return; }
    const fromLon = Number(m[1]);
    if (fromLon === 121) { setTimeout(() => res.end(JSON.stringify({ code: 'Ok', routes: [{ duration: 5 }] })), 2000); return; }
    if (fromLon === 122) { res.end('<html>proxy error</html>'); return; }
    if (fromLon === 123) { res.end(JSON.stringify({ code: 'NoRoute', routes: [] })); return; }
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ code: 'Ok', routes: [{ duration: 187.6, distance: 1520 }] }));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

describe('road ETAs (routing.ts)', () => {
  const log = pino({ level: 'silent' });
  const to = { lat: 30.25, lon: 120.16 };

  it('asks the service lon,lat first and answers its duration in whole seconds, cached', async () => {
    const router = createRouter(base, log);
    expect(await router.eta({ lat: 30.24, lon: 120.15 }, to)).toBe(188);
    expect(asked.at(-1)).toBe('/route/v1/driving/120.15,30.24;120.16,30.25?overview=false');
    const n = asked.length;
    expect(await router.eta({ lat: 30.24, lon: 120.15 }, to)).toBe(188);
    expect(asked.length).toBe(n);
  });

  it('gives no ETA (straight line only) when the service is slow, says nonsense or finds no route', async () => {
    const router = createRouter(base, log);
    const t0 = Date.now();
    expect(await router.eta({ lat: 30, lon: 121 }, to)).toBeNull();
    expect(Date.now() - t0).toBeLessThan(2500);
    expect(await router.eta({ lat: 30, lon: 122 }, to)).toBeNull();
    expect(await router.eta({ lat: 30, lon: 123 }, to)).toBeNull();
  });

  it('asks nothing when no service is configured', async () => {
    const router = createRouter('', log);
    const n = asked.length;
    expect(router.enabled).toBe(false);
    expect(await router.eta({ lat: 30.24, lon: 120.15 }, to)).toBeNull();
    expect(asked.length).toBe(n);
  });
});
