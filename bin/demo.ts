import { isDeepStrictEqual } from 'node:util';
import { demoSite, type DemoDevice } from '../config/demo-site.ts';
import type { Platform } from '../core/platform.ts';
import { createDeviceRepository } from '../gateway/devices/repository.ts';
import { startDemoPatrol } from './demo-patrol.ts';
import { createDeviceService } from '../gateway/devices/service.ts';
import type { StreamProfile } from '../gateway/devices/types.ts';
import { probeDevice } from '../gateway/onvif/onvif-client.ts';
import type { SimCamera, SimCameraSpec } from '../gateway/simulator/types.ts';

const DEMO_PLATFORM = 'QH-PLATFORM';

/**
 * How the demo's live cameras encode, by their place among the simulated ones, mixed as a real
 * network is: the first dome as it leaves the factory (H.265 main, 4 s GOP), two more H.265 main
 * streams, one H.264 camera with a 2 s GOP, the rest H.264 with 1 s GOPs. Every sub stream is H.264.
 * All at 640x360, 15 fps, and encoders run only while a client pulls: the demo stays cheap.
 */
export function demoCameraSpecs(live: Pick<DemoDevice, 'name' | 'code' | 'cameraType'>[]): Partial<SimCameraSpec>[] {
  const encoding: Partial<SimCameraSpec>[] = [
    { factoryDefault: true },
    { codec: 'h265', gopSeconds: 1 },
    { codec: 'h265', gopSeconds: 2 },
    { codec: 'h264', gopSeconds: 2 },
  ];
  return live.map((d, i) => ({
    id: `cam-${String(i + 1).padStart(3, '0')}`, name: d.name, code: d.code, ptz: d.cameraType === 'ptz',
    width: 640, height: 360, fps: 15, ...(encoding[i] ?? {}),
  }));
}

/**
 * The ONVIF profiles of each simulated camera, read by the gateway's own probe (what registering a real
 * camera does), keyed by the camera's code. A camera the probe fails on is logged and left out: the demo
 * still starts, and its device keeps the profiles it had.
 */
async function probeProfiles(cameras: SimCamera[], host: string, log: Platform['log']): Promise<Map<string, StreamProfile[]>> {
  const out = new Map<string, StreamProfile[]>();
  for (const cam of cameras) {
    try {
      const r = await probeDevice({ host, port: cam.onvifPort, username: cam.spec.username, password: cam.spec.password, timeoutMs: 5000 });
      if (cam.spec.code) out.set(cam.spec.code, r.profiles);
    } catch (err) {
      log.warn({ camera: cam.spec.id, err: (err as Error).message }, 'demo camera: ONVIF probe failed, its media profiles stay as they were');
    }
  }
  return out;
}

/**
 * The demo site: with `demo: auto` it runs when the registry is empty (first
 * start) or already holds the demo site; `demo: true` forces it, `false` never.
 * Seeds the registry once, then starts the simulator for its live cameras.
 */
export async function startDemo(platform: Platform): Promise<{ cameras: number; patrol: { password: string | null; file: string | null }; close: () => Promise<void> } | null> {
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
    cameras: demoCameraSpecs(live),
  });
  // The registry holds what each camera reports over ONVIF (codec, size, frame rate, GOP), as for a real one.
  const profiles = await probeProfiles(sim.cameras, config.simulator.host, log);

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
        ...(cam && profiles.has(d.code) ? { profiles: profiles.get(d.code)! } : {}),
      });
    }
    log.info({ devices: site.devices.length, live: live.length }, 'seeded the demo site');
  } else {
    await refreshProfiles(platform, profiles);
  }
  // The patrol force and its moving GPS (monitor-patrol linkage), seeded with the site.
  const patrol = await startDemoPatrol(platform, !hasDemo);
  return { cameras: sim.cameras.length, patrol, close: async () => { patrol.close(); await sim.close(); } };
}

/**
 * A demo site seeded before the registry held the cameras' profiles (or whose cameras now encode
 * otherwise) gets what the probe read: only `profiles` changes, and only where it differs.
 */
async function refreshProfiles(platform: Platform, profiles: Map<string, StreamProfile[]>): Promise<void> {
  const repo = createDeviceRepository(platform.pool);
  const devices = createDeviceService({ repo, boxKey: platform.keys.box });
  const ids = await repo.idsByCode([...profiles.keys()]);
  let refreshed = 0;
  for (const [code, id] of ids) {
    const current = await repo.get(id);
    // As the registry would store it (JSON: no undefined fields), so an unchanged camera is left alone.
    const probed = JSON.parse(JSON.stringify(profiles.get(code)!)) as StreamProfile[];
    if (!current || current.decommissionedAt || isDeepStrictEqual(current.profiles, probed)) continue;
    await devices.update(id, { profiles: probed });
    refreshed++;
  }
  if (refreshed > 0) platform.log.info({ devices: refreshed }, 'demo site: media profiles refreshed from the cameras');
}
