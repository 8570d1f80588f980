import { describe, expect, it } from 'vitest';
import { formatIncidentNumber } from '../../console/server/incidents/numbering.ts';
import { allowedTransitions, canTransition, changedFields, endsIncident, isFinal } from '../../console/server/incidents/transitions.ts';
import { INCIDENT_STATUSES, type IncidentStatus } from '../../console/server/incidents/types.ts';

// The incident life cycle and numbering as plain values (console/server/incidents).
describe('incident status transitions', () => {
  const legal: [IncidentStatus, IncidentStatus][] = [
    ['new', 'dispatched'], ['dispatched', 'on_scene'], ['on_scene', 'resolved'], ['resolved', 'closed'],
    ['resolved', 'on_scene'],
    ['new', 'cancelled'], ['dispatched', 'cancelled'], ['on_scene', 'cancelled'], ['resolved', 'cancelled'],
  ];

  it.each(legal)('%s → %s is allowed', (from, to) => {
    expect(canTransition(from, to)).toBe(true);
  });

  it('every other pair is refused (skipping steps, going back, leaving a final status, staying put)', () => {
    const allowed = new Set(legal.map(([a, b]) => `${a}>${b}`));
    const refused: string[] = [];
    for (const from of INCIDENT_STATUSES) {
      for (const to of INCIDENT_STATUSES) {
        if (!allowed.has(`${from}>${to}`)) {
          expect(canTransition(from, to), `${from} → ${to}`).toBe(false);
          refused.push(`${from}>${to}`);
        }
      }
    }
    expect(refused).toContain('new>on_scene');
    expect(refused).toContain('dispatched>new');
    expect(refused).toContain('closed>on_scene');
    expect(refused).toContain('cancelled>new');
    expect(refused).toContain('new>new');
    expect(refused).toContain('on_scene>closed');
    expect(refused).toHaveLength(36 - legal.length);
  });

  it('closed and cancelled are final and end the incident; nothing else is', () => {
    expect(INCIDENT_STATUSES.filter(isFinal)).toEqual(['closed', 'cancelled']);
    expect(INCIDENT_STATUSES.filter(endsIncident)).toEqual(['closed', 'cancelled']);
    expect(allowedTransitions('closed')).toEqual([]);
    expect(allowedTransitions('resolved')).toEqual(['closed', 'on_scene', 'cancelled']);
  });

  it('allowedTransitions hands out a copy', () => {
    allowedTransitions('new').push('closed');
    expect(canTransition('new', 'closed')).toBe(false);
  });
});

describe('changedFields', () => {
  it('lists only the fields that differ, dates by instant, as from → to', () => {
    const at = new Date('2026-03-01T02:00:00Z');
    const before = { title: '盗窃', priority: 3, lat: null as number | null, occurredAt: at, address: 'a' };
    expect(changedFields(before, { title: '盗窃', priority: 1, lat: 31.2, occurredAt: new Date(at.getTime()), address: undefined })).toEqual({
      priority: { from: 3, to: 1 }, lat: { from: null, to: 31.2 },
    });
    expect(changedFields(before, { occurredAt: new Date('2026-03-01T03:00:00Z') })).toEqual({
      occurredAt: { from: '2026-03-01T02:00:00.000Z', to: '2026-03-01T03:00:00.000Z' },
    });
    expect(changedFields(before, {})).toEqual({});
  });
});

describe('incident numbers', () => {
  it('read <prefix><yyyymmdd><4-digit sequence>', () => {
    expect(formatIncidentNumber('JQ', '2026-12-02', 1)).toBe('JQ202612020001');
    expect(formatIncidentNumber('SH01', '2026-01-09', 42)).toBe('SH01202601090042');
    expect(formatIncidentNumber('JQ', '2026-12-02', 9999)).toBe('JQ202612029999');
  });

  it('grow a digit past 9999 instead of colliding', () => {
    expect(formatIncidentNumber('JQ', '2026-12-02', 10_000)).toBe('JQ2026120210000');
  });

  it('refuse what is not a day or a sequence', () => {
    expect(() => formatIncidentNumber('JQ', '2026/12/02', 1)).toThrow(RangeError);
    expect(() => formatIncidentNumber('JQ', '2026-12-02', 0)).toThrow(RangeError);
    expect(() => formatIncidentNumber('JQ', '2026-12-02', 1.5)).toThrow(RangeError);
  });
});
