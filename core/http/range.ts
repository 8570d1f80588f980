/**
 * One byte range of an HTTP `Range` header (RFC 9110 §14), for a resource of `size` bytes:
 * `bytes=a-b`, `bytes=a-`, `bytes=-n`. Null when there is no header or it is not one of these
 * (the whole resource is sent, as the RFC allows for ranges a server does not support);
 * 'unsatisfiable' when it starts past the end (416).
 */
export function parseRange(header: string | undefined, size: number): { start: number; end: number } | 'unsatisfiable' | null {
  if (!header) return null;
  const m = /^bytes=(\d{0,15})-(\d{0,15})$/.exec(header.trim());
  if (!m || (m[1] === '' && m[2] === '')) return null;
  if (m[1] === '') {
    const n = Number(m[2]);
    if (n === 0) return 'unsatisfiable';
    return { start: Math.max(0, size - n), end: size - 1 };
  }
  const start = Number(m[1]);
  const end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1);
  if (start >= size) return 'unsatisfiable';
  if (end < start) return null;
  return { start, end };
}
