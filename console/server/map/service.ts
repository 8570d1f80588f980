import { DEMO_CENTER, DEMO_PLATFORM_CODE } from '../../../config/demo-site.ts';
import type { Platform } from '../../../core/platform.ts';
import { demoBaseLayer, sitesBaseLayer } from './base-layer.ts';
import { createMapRepository } from './repository.ts';
import type { FeatureCollection, MapConfig, MapDevice, MapIncident } from './types.ts';

/** How many incident markers one map answer carries at most (newest first). */
export const MAP_INCIDENT_LIMIT = 2000;
/** The zoom the map opens at: a county town fills the screen. */
const DEFAULT_ZOOM = 14;

/**
 * The map's data: tile settings, the offline base layer (the demo town's streets when the demo
 * site is what is loaded, otherwise drawn from the sites table and the devices' positions), every
 * located device and the located incidents.
 */
export function createMapService(deps: { platform: Platform }) {
  const { config, pool } = deps.platform;
  const repo = createMapRepository(pool);

  return {
    async config(): Promise<MapConfig> {
      const sites = await repo.sites();
      const demo = sites.some((s) => s.code === DEMO_PLATFORM_CODE);
      const platform = sites.find((s) => s.kind === 'platform' && s.lat !== null && s.lon !== null);
      const center = demo ? DEMO_CENTER : platform ? { lat: platform.lat!, lon: platform.lon! } : (await repo.deviceCentre()) ?? DEMO_CENTER;
      return { tileUrl: config.map.tileUrl, attribution: config.map.attribution, maxZoom: config.map.maxZoom, center, zoom: Math.min(DEFAULT_ZOOM, config.map.maxZoom) };
    },

    async base(): Promise<FeatureCollection> {
      const sites = await repo.sites();
      return sites.some((s) => s.code === DEMO_PLATFORM_CODE) ? demoBaseLayer(sites) : sitesBaseLayer(sites);
    },

    async devices(): Promise<{ items: MapDevice[] }> {
      return { items: await repo.devices() };
    },

    async incidents(q: { open: boolean }): Promise<{ items: MapIncident[] }> {
      return { items: await repo.incidents({ open: q.open, limit: MAP_INCIDENT_LIMIT }) };
    },
  };
}

export type MapService = ReturnType<typeof createMapService>;
