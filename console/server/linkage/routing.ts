import type { Logger } from 'pino';

/** An ETA answer is cached this long per (from, to) rounded to ~10 m, and asked for at most this long. */
const CACHE_MS = 30_000;
const TIMEOUT_MS = 1500;

/**
 * Road ETAs from an OSRM-compatible routing service (`/route/v1/driving/<lon>,<lat>;<lon>,<lat>`),
 * when `linkage.routingUrl` is set; police networks run their own. Without one, or when it does
 * not answer in time, the ETA is null and proposals rank by straight-line distance.
 */
export function createRouter(baseUrl: string, log: Logger) {
  const cache = new Map<string, { at: number; eta: number | null }>();
  const key = (a: { lat: number; lon: number }, b: { lat: number; lon: number }) => [a.lat, a.lon, b.lat, b.lon].map((x) => x.toFixed(4)).join(',');
  return {
    enabled: baseUrl !== '',
    async eta(from: { lat: number; lon: number }, to: { lat: number; lon: number }): Promise<number | null> {
      if (!baseUrl) return null;
      const k = key(from, to);
      const hit = cache.get(k);
      if (hit && Date.now() - hit.at < CACHE_MS) return hit.eta;
      let eta: number | null = null;
      try {
        const url = `${baseUrl.replace(/\/$/, '')}/route/v1/driving/${from.lon},${from.lat};${to.lon},${to.lat}?overview=false`;
        const res = await fetch(url, { signal: AbortSignal.timeout(TIMEOUT_MS) });
        const body = (await res.json()) as { code?: string; routes?: { duration?: number }[] };
        const d = body.routes?.[0]?.duration;
        eta = res.ok && body.code === 'Ok' && typeof d === 'number' && Number.isFinite(d) ? Math.round(d) : null;
      } catch (err) {
        log.debug({ err: (err as Error).message }, 'routing service did not answer: straight-line distance only');
      }
      cache.set(k, { at: Date.now(), eta });
      if (cache.size > 10_000) cache.delete(cache.keys().next().value!);
      return eta;
    },
  };
}
