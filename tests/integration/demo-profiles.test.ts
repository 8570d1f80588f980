import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDemo } from '../../bin/demo.ts';
import { demoSite } from '../../config/demo-site.ts';
import { createDeviceRepository } from '../../gateway/devices/repository.ts';
import type { Device } from '../../gateway/devices/types.ts';
import { closeOnvifSessions } from '../../gateway/onvif/onvif-client.ts';
import { testPlatform } from '../helpers/platform.ts';

/**
 * The demo site's live cameras end up in the registry with the ONVIF profiles their simulator reports
 * (codec, size, fps, GOP), as a camera registered through the probe does; a demo seeded before that
 * gets them on its next start. Four live cameras, ephemeral ports; no encoder starts (ONVIF only).
 */

let t: Awaited<ReturnType<typeof testPlatform>>;
const LIVE = 4;
const site = demoSite(LIVE);
const live = site.devices.filter((d) => d.sim !== null);

async function byCode(code: string): Promise<Device> {
  const repo = createDeviceRepository(t.platform.pool);
  const id = (await repo.idsByCode([code])).get(code);
  expect(id, code).toBeDefined();
  return (await repo.get(id!))!;
}

beforeAll(async () => {
  t = await testPlatform({ demo: true, 'simulator.basePort': 0, 'simulator.liveCameras': LIVE, 'simulator.host': '127.0.0.1' }, { ownDatabase: true });
});

afterAll(async () => {
  closeOnvifSessions();
  await t?.close();
});

describe('demo seeding', () => {
  it('registers each live camera with its probed profiles: the factory-default dome H.265 with a 4 s GOP, H.264 sub streams', async () => {
    const demo = await startDemo(t.platform);
    try {
      expect(demo?.cameras).toBe(LIVE);
      const dome = await byCode(live[0]!.code);
      expect(dome.profiles.map(({ rtspUri: _r, snapshotUri: _s, ...p }) => p)).toEqual([
        { token: 'Profile_101', name: 'mainStream', encoding: 'H265', width: 640, height: 360, fps: 15, gop: 60 },
        { token: 'Profile_102', name: 'subStream', encoding: 'H264', width: 320, height: 180, fps: 15, gop: 60 },
      ]);
      expect(dome.profiles[0]!.rtspUri).toBe(dome.streams.main);
      expect(dome.profiles[1]!.rtspUri).toBe(dome.streams.sub);
      const encodings = await Promise.all(live.map(async (d) => (await byCode(d.code)).profiles.map((p) => `${p.encoding}/${p.gop}`)));
      expect(encodings).toEqual([['H265/60', 'H264/60'], ['H265/15', 'H264/15'], ['H265/30', 'H264/30'], ['H264/30', 'H264/30']]);
      const ghost = await byCode(site.devices.find((d) => d.sim === null)!.code);
      expect(ghost.profiles).toEqual([]);
      // The patrol force: four units with grids, three on duty, their GPS moving along the roads.
      expect(demo?.patrol.password).toMatch(/^[A-Za-z0-9_-]{12}$/);
      const units = (await t.platform.pool.query('SELECT call_sign, state, grid IS NOT NULL AS has_grid FROM patrol_units ORDER BY call_sign COLLATE "C"')).rows;
      expect(units.map((u) => [u.call_sign, u.state, u.has_grid])).toEqual([['巡01', 'available', true], ['巡02', 'available', true], ['摩03', 'available', true], ['步04', 'off_duty', true]]);
      const fixes = async () => (await t.platform.pool.query('SELECT count(*)::int AS n, count(DISTINCT (lat, lon))::int AS places FROM unit_positions')).rows[0];
      await expect.poll(async () => (await fixes()).places, { timeout: 10_000 }).toBeGreaterThanOrEqual(8);
      const login = await t.platform.identity.login('patrol01', demo!.patrol.password!, { ip: null, userAgent: null });
      expect(login.user.roles).toEqual(['patrol']);
    } finally {
      await demo?.close();
    }
  }, 60_000);

  it('gives a demo seeded without profiles its cameras\' profiles on the next start', async () => {
    const repo = createDeviceRepository(t.platform.pool);
    const code = live[1]!.code;
    const before = await byCode(code);
    await t.platform.pool.query(`UPDATE devices SET profiles = '[]'::jsonb WHERE id = $1`, [before.id]);
    expect((await byCode(code)).profiles).toEqual([]);
    const demo = await startDemo(t.platform);
    try {
      const after = await byCode(code);
      expect(after.profiles.map((p) => [p.encoding, p.width, p.height, p.fps, p.gop])).toEqual([['H265', 640, 360, 15, 15], ['H264', 320, 180, 15, 15]]);
      expect((await repo.get(before.id))!.name).toBe(before.name);
    } finally {
      await demo?.close();
    }
  }, 60_000);
});
