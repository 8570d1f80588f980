import { describe, expect, it } from 'vitest';
import { distanceM, distanceToSegment, pointInPolygon, polygonProblem } from '../../console/server/linkage/geo.ts';
import { checkFix, createUnitLimiter } from '../../console/server/linkage/positions.ts';
import { canCue, cueStep, monitorSteps, responseTarget, unitState, unitSteps } from '../../console/server/linkage/rules.ts';
import { sniffImage } from '../../console/server/linkage/service.ts';
import type { CueStatus, UnitCueStep } from '../../console/server/linkage/types.ts';

describe('cue steps (rules.ts), as a table', () => {
  // [from, to, by, reason, verdict]: ok / override / the refusal code.
  const table: [CueStatus, UnitCueStep, 'unit' | 'monitor', string, string][] = [
    ['sent', 'received', 'unit', '', 'ok'],
    ['received', 'en_route', 'unit', '', 'ok'],
    ['en_route', 'on_scene', 'unit', '', 'ok'],
    ['on_scene', 'done', 'unit', '', 'ok'],
    ['sent', 'en_route', 'unit', '', 'linkage.cue_step_skipped'],
    ['sent', 'on_scene', 'unit', '', 'linkage.cue_step_skipped'],
    ['received', 'on_scene', 'unit', '', 'linkage.cue_step_skipped'],
    ['sent', 'done', 'unit', '', 'linkage.cue_step_skipped'],
    ['en_route', 'received', 'unit', '', 'linkage.cue_step_backwards'],
    ['on_scene', 'on_scene', 'unit', '', 'linkage.cue_step_backwards'],
    ['done', 'done', 'unit', '', 'linkage.cue_final'],
    ['cancelled', 'received', 'unit', '', 'linkage.cue_final'],
    ['reassigned', 'received', 'monitor', 'radio', 'linkage.cue_final'],
    ['sent', 'received', 'monitor', '', 'ok'],
    ['sent', 'on_scene', 'monitor', '', 'linkage.cue_override_reason'],
    ['sent', 'on_scene', 'monitor', '对讲机确认已到达', 'override'],
    ['received', 'done', 'monitor', 'radio', 'override'],
    ['on_scene', 'received', 'monitor', 'radio', 'linkage.cue_step_backwards'],
  ];
  it.each(table)('%s → %s by %s (reason %j): %s', (from, to, by, reason, expected) => {
    const v = cueStep(from, to, by, reason);
    if (expected === 'ok') expect(v).toEqual({ ok: true, override: false, skipped: [] });
    else if (expected === 'override') expect(v).toMatchObject({ ok: true, override: true });
    else expect(v).toMatchObject({ ok: false, code: expected });
  });

  it('names the rule a skipping unit broke, and lists what an override skipped', () => {
    const v = cueStep('sent', 'on_scene', 'unit');
    expect(v.ok).toBe(false);
    if (!v.ok) expect(v.rule).toContain('a unit cannot be on_scene for a cue it never accepted');
    expect(cueStep('sent', 'on_scene', 'monitor', 'radio')).toEqual({ ok: true, override: true, skipped: ['received', 'en_route'] });
  });

  it('offers the unit its one next step and the monitor every later one plus cancel and reassign', () => {
    expect(unitSteps('sent')).toEqual(['received']);
    expect(unitSteps('on_scene')).toEqual(['done']);
    expect(unitSteps('done')).toEqual([]);
    expect(monitorSteps('received')).toEqual(['en_route', 'on_scene', 'done', 'cancelled', 'reassigned']);
    expect(monitorSteps('cancelled')).toEqual([]);
  });
});

describe('who may be cued', () => {
  it.each([
    ['available', false, true], ['busy', false, 'linkage.unit_busy'], ['off_duty', false, 'linkage.unit_off_duty'], ['available', true, 'linkage.unit_disabled'],
  ] as const)('a %s unit (disabled %s): %s', (state, disabled, expected) => {
    const v = canCue({ state, disabled, callSign: '巡01' });
    if (expected === true) expect(v).toEqual({ ok: true });
    else expect(v).toMatchObject({ ok: false, code: expected });
  });

  it('derives the unit state from duty and cues', () => {
    expect(unitState(false, false)).toBe('off_duty');
    expect(unitState(true, false)).toBe('available');
    expect(unitState(true, true)).toBe('busy');
    expect(unitState(false, true)).toBe('busy');
  });

  it('measures arrival against the 1/3/5-minute targets', () => {
    expect(responseTarget(45, [60, 180, 300])).toBe(0);
    expect(responseTarget(60, [60, 180, 300])).toBe(0);
    expect(responseTarget(61, [60, 180, 300])).toBe(1);
    expect(responseTarget(300, [60, 180, 300])).toBe(2);
    expect(responseTarget(301, [60, 180, 300])).toBeNull();
  });
});

describe('geometry', () => {
  it('measures city distances like earthdistance (within 0.5 %)', () => {
    // 0.01° of latitude ≈ 1,113 m on earthdistance's sphere (6,378,168 m), 1,112 m on the mean one.
    expect(distanceM(30, 120, 30.01, 120)).toBeCloseTo(1112, -1);
    expect(distanceM(30, 120, 30, 120)).toBe(0);
  });

  it('finds a point inside a grid polygon, open or closed, and outside it', () => {
    const square: [number, number][] = [[120, 30], [120.01, 30], [120.01, 30.01], [120, 30.01]];
    expect(pointInPolygon(120.005, 30.005, square)).toBe(true);
    expect(pointInPolygon(120.02, 30.005, square)).toBe(false);
    expect(pointInPolygon(120.005, 30.005, [...square, square[0]!])).toBe(true);
  });

  it('measures a camera\'s distance from the way and where along it it lies', () => {
    const a = { lat: 30, lon: 120 };
    const b = { lat: 30, lon: 120.01 };
    const mid = distanceToSegment({ lat: 30.001, lon: 120.005 }, a, b);
    expect(mid.distanceM).toBeCloseTo(111, -1);
    expect(mid.along).toBeCloseTo(0.5, 2);
    const beyond = distanceToSegment({ lat: 30, lon: 120.02 }, a, b);
    expect(beyond.along).toBe(1);
    expect(beyond.distanceM).toBeGreaterThan(900);
  });

  it('says what is wrong with a grid polygon', () => {
    expect(polygonProblem([[120, 30], [120.01, 30], [120.01, 30.01]])).toBeNull();
    expect(polygonProblem('x')).toMatch(/list/);
    expect(polygonProblem([[120, 30], [120.01, 30]])).toMatch(/3 to 500/);
    expect(polygonProblem([[120, 30], [120, 30], [120, 30], [120, 30]])).toMatch(/distinct/);
    expect(polygonProblem([[200, 30], [120.01, 30], [120.01, 30.01]])).toMatch(/outside/);
    expect(polygonProblem([[120, 30, 1], [120.01, 30], [120.01, 30.01]])).toMatch(/\[lon, lat\]/);
  });
});

describe('a GPS fix', () => {
  const now = Date.parse('2026-12-04T08:00:00Z');
  const at = (ms: number) => new Date(now + ms).toISOString();
  it('is kept with its own time when in range', () => {
    const v = checkFix({ at: at(-5000), lat: 30.1, lon: 120.2, heading: 360, speed: 12 }, 'u', 'phone', now);
    expect(v).toMatchObject({ ok: true, fix: { unitId: 'u', lat: 30.1, lon: 120.2, heading: 0, speed: 12, source: 'phone' } });
  });
  it.each([
    [{ at: 'yesterday', lat: 30, lon: 120 }, 'linkage.fix_time'],
    [{ at: at(60_000), lat: 30, lon: 120 }, 'linkage.fix_future'],
    [{ at: at(-25 * 3600_000), lat: 30, lon: 120 }, 'linkage.fix_too_old'],
    [{ at: at(0), lat: 91, lon: 120 }, 'linkage.fix_range'],
    [{ at: at(0), lat: 30, lon: -181 }, 'linkage.fix_range'],
    [{ at: at(0), lat: 0, lon: 0 }, 'linkage.fix_range'],
    [{ at: at(0), lat: 30, lon: 120, heading: 400 }, 'linkage.fix_heading'],
    [{ at: at(0), lat: 30, lon: 120, speed: -1 }, 'linkage.fix_speed'],
    [{ at: at(0), lat: 30, lon: 120, speed: 500 }, 'linkage.fix_speed'],
    [{ at: at(0), lat: 30, lon: 120, accuracy: -3 }, 'linkage.fix_accuracy'],
  ])('%j is refused with %s', (fix, code) => {
    expect(checkFix(fix, 'u', 'terminal', now)).toMatchObject({ ok: false, code });
  });

  it('is rate-limited per unit: a burst of twice the rate, then the rate', () => {
    const limit = createUnitLimiter(5);
    const t0 = 1_000_000;
    const burst = Array.from({ length: 12 }, () => limit.take('a', t0));
    expect(burst.filter(Boolean)).toHaveLength(10);
    expect(limit.take('b', t0)).toBe(true);
    expect(limit.take('a', t0 + 200)).toBe(true);
    expect(limit.take('a', t0 + 200)).toBe(false);
  });
});

describe('a report photo', () => {
  it('is known by its first bytes, never by its name', () => {
    expect(sniffImage(Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0, 0]))).toBe('image/jpeg');
    expect(sniffImage(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0]))).toBe('image/png');
    expect(sniffImage(Buffer.from('RIFF\0\0\0\0WEBPVP8 '))).toBe('image/webp');
    expect(sniffImage(Buffer.from('<svg onload=alert(1)>'))).toBeNull();
    expect(sniffImage(Buffer.from('GIF89a'))).toBeNull();
  });
});
