/**
 * Incident numbers: <prefix><yyyymmdd><sequence>, the day being the site-local day the
 * incident was entered, the sequence counted per day from 1 and written with at least four
 * digits (a 10,000th incident in one day gets five, so numbers never collide).
 * The sequence itself comes from the repository (incident_numbers, one row per day,
 * incremented in the transaction that inserts the incident).
 */
export function formatIncidentNumber(prefix: string, day: string, seq: number): string {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(day);
  if (!m) throw new RangeError(`not a day: ${day}`);
  if (!Number.isInteger(seq) || seq < 1) throw new RangeError(`not a sequence number: ${seq}`);
  return `${prefix}${m[1]}${m[2]}${m[3]}${String(seq).padStart(4, '0')}`;
}
