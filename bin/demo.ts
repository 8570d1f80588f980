import { demoSite } from '../config/demo-site.ts';
import type { Platform } from '../core/platform.ts';
import { createDeviceRepository } from '../gateway/devices/repository.ts';
import { createDeviceService } from '../gateway/devices/service.ts';

const DEMO_PLATFORM = 'QH-PLATFORM';

/**
 * The demo site: with `demo: auto` it runs when the registry is empty (first
 * start) or already holds the demo site; `demo: true` forces it, `false` never.
 * Seeds the registry once, then starts the simulator for its live cameras.
 */
export async function startDemo(platform: Platform): Promise<{ cameras: number; close: () => Promise<void> } | null> {
  const { config, pool, log } = platform;
  if (config.demo === false) return null;
  const repo = createDeviceRepository(pool);
  const sites = await repo.listSites();
  const hasDemo = sites.some((s) => s.code === DEMO_PLATFORM);
  const { rows } = await pool.query<{ n: number }>('SELECT count(*)::int AS n FROM devices');
  if (config.demo === 'auto' && !hasDemo && (rows[0]?.n ?? 0) > 0) return null;

  const site = demoSite(config.simulator.liveCameras);
  const live = site.devices.filter((d) => d.sim !== null);
  const { startSimulator } = await import('../gateway/simulator/simulator.ts');
  const sim = await startSimulator({
    host: config.simulator.host,
    basePort: config.simulator.basePort,
    discovery: true,
    timezone: config.site.timezone,
    cameras: live.map((d, i) => ({
      id: `cam-${String(i + 1).padStart(3, '0')}`, name: d.name, code: d.code, ptz: d.cameraType === 'ptz',
      width: 640, height: 360, fps: 15,
    })),
  });

  if (!hasDemo) {
    const devices = createDeviceService({ repo, boxKey: platform.keys.box });
    const siteIds = new Map<string, string>();
    for (const s of site.sites) {
      const saved = await repo.upsertSite({ code: s.code, name: s.name, kind: s.kind, parentId: s.parent ? siteIds.get(s.parent) ?? null : null, lat: s.lat, lon: s.lon });
      siteIds.set(s.code, saved.id);
    }
    let offline = 0;
    for (const d of site.devices) {
      const cam = d.sim !== null ? sim.cameras[d.sim] : undefined;
      // Devices nobody simulates stand at loopback addresses where nothing listens: offline, as in any real network.
      const ghost = `127.20.${Math.floor(offline / 250)}.${(offline++ % 250) + 1}`;
      await devices.create({
        kind: d.kind, cameraType: d.cameraType, name: d.name, code: d.code, siteId: siteIds.get(d.site) ?? null,
        address: d.address, location: { lat: d.lat, lon: d.lon, heading: d.heading }, tags: d.tags,
        onvif: cam ? { host: config.simulator.host, port: cam.onvifPort, username: cam.spec.username, password: cam.spec.password }
          : { host: ghost, port: 80, username: 'admin', password: 'demo-offline' },
        streams: cam ? { main: cam.rtspUri('main'), sub: cam.rtspUri('sub'), snapshot: cam.snapshotUri() }
          : { main: `rtsp://${ghost}:554/Streaming/Channels/101`, sub: `rtsp://${ghost}:554/Streaming/Channels/102` },
        vendor: cam?.spec.vendor ?? (d.kind === 'checkpoint' ? 'Checkpoint-Sim' : 'Unknown'),
        model: cam?.spec.model ?? null, serial: cam?.spec.serial ?? null, firmware: cam?.spec.firmware ?? null,
        ptz: d.cameraType === 'ptz',
        recording: { mode: d.cameraType === 'face' || d.kind === 'checkpoint' ? 'continuous' : 'none', retentionDays: 30 },
      });
    }
    log.info({ devices: site.devices.length, live: live.length }, 'seeded the demo site');
  }
  return { cameras: sim.cameras.length, close: () => sim.close() };
}
