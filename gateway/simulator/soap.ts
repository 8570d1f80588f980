/**
 * SOAP 1.2 envelopes, faults and authentication for the simulated ONVIF camera:
 * parsing a request (fast-xml-parser, namespace prefixes removed), building answers,
 * WS-Security UsernameToken (PasswordDigest) and HTTP Digest / Basic checks.
 * The simulator trusts nothing it receives: a DOCTYPE, malformed XML or an envelope
 * without a Body is a `SoapParseError`, never an exception elsewhere.
 */
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { XMLParser, XMLValidator } from 'fast-xml-parser';

export const NS = {
  s: 'http://www.w3.org/2003/05/soap-envelope',
  wsa: 'http://www.w3.org/2005/08/addressing',
  tds: 'http://www.onvif.org/ver10/device/wsdl',
  trt: 'http://www.onvif.org/ver10/media/wsdl',
  tptz: 'http://www.onvif.org/ver20/ptz/wsdl',
  tt: 'http://www.onvif.org/ver10/schema',
  ter: 'http://www.onvif.org/ver10/error',
} as const;

export type XmlNode = Record<string, unknown>;

export interface SoapRequest {
  /** Local name of the first element in the Body: `GetProfiles`. */
  operation: string;
  /** That element's content (children by local name, attributes as `@_name`). */
  params: XmlNode;
  header: XmlNode;
  messageId?: string;
}

export class SoapParseError extends Error {}

const parser = new XMLParser({
  removeNSPrefix: true,
  ignoreAttributes: false,
  attributeNamePrefix: '@_',
  parseTagValue: false,
  parseAttributeValue: false,
  trimValues: true,
  processEntities: true,
  htmlEntities: true, // numeric character references (&#60;) too
});

/** Parse any XML document the simulator receives; throws SoapParseError when it is not well-formed. */
export function parseXml(xml: string): XmlNode {
  if (/<!DOCTYPE|<!ENTITY/i.test(xml)) throw new SoapParseError('DTDs are not allowed in SOAP messages');
  const valid = XMLValidator.validate(xml);
  if (valid !== true) throw new SoapParseError(`malformed XML: ${valid.err.msg}`);
  const doc: unknown = parser.parse(xml);
  if (!isNode(doc)) throw new SoapParseError('empty document');
  return doc;
}

export function parseSoap(xml: string): SoapRequest {
  const envelope = child(parseXml(xml), 'Envelope');
  const body = child(envelope, 'Body');
  if (!envelope || !body) throw new SoapParseError('not a SOAP envelope');
  const operation = Object.keys(body).find((key) => !key.startsWith('@_'));
  if (!operation) throw new SoapParseError('SOAP Body is empty');
  const header = child(envelope, 'Header') ?? {};
  const messageId = text(header['MessageID']);
  return { operation, params: child(body, operation) ?? {}, header, messageId: messageId || undefined };
}

// ----- reading parsed nodes -----

export function isNode(value: unknown): value is XmlNode {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The child element `name` (the first one when repeated); an empty element counts as `{}`. */
export function child(node: unknown, name: string): XmlNode | undefined {
  if (!isNode(node)) return undefined;
  const value = Array.isArray(node[name]) ? (node[name] as unknown[])[0] : node[name];
  if (isNode(value)) return value;
  return value === '' ? {} : undefined;
}

/** Text content of a node, whether it is a plain string or `{ '#text': ... }` with attributes. */
export function text(value: unknown): string {
  if (Array.isArray(value)) return text(value[0]);
  if (typeof value === 'string' || typeof value === 'number') return String(value).trim();
  if (isNode(value) && value['#text'] !== undefined) return String(value['#text']).trim();
  return '';
}

export function attr(node: unknown, name: string): string | undefined {
  if (!isNode(node)) return undefined;
  const value = node[`@_${name}`];
  return typeof value === 'string' ? value : undefined;
}

// ----- building answers -----

export function xmlEscape(value: string | number): string {
  return String(value).replace(/[<>&"']/g, (c) => `&${({ '<': 'lt', '>': 'gt', '&': 'amp', '"': 'quot', "'": 'apos' } as const)[c as '<']};`);
}

export function envelope(body: string, header = ''): string {
  const xmlns = Object.entries(NS).map(([prefix, uri]) => `xmlns:${prefix}="${uri}"`).join(' ');
  return `<?xml version="1.0" encoding="UTF-8"?>\n<s:Envelope ${xmlns}>` +
    (header ? `<s:Header>${header}</s:Header>` : '') +
    `<s:Body>${body}</s:Body></s:Envelope>`;
}

export interface SoapFault {
  /** HTTP status to answer with (400 for a sender fault, 500 for a receiver fault). */
  status: number;
  code: 'Sender' | 'Receiver';
  /** ONVIF subcodes, outermost first: `['ter:ActionNotSupported', 'ter:PTZNotSupported']`. */
  subcodes: string[];
  reason: string;
}

export function fault(code: SoapFault['code'], subcodes: string[], reason: string): SoapFault {
  return { status: code === 'Sender' ? 400 : 500, code, subcodes, reason };
}

export function faultXml(f: SoapFault): string {
  const subcodes = f.subcodes.reduceRight((inner, sub) => `<s:Subcode><s:Value>${sub}</s:Value>${inner}</s:Subcode>`, '');
  return envelope(`<s:Fault><s:Code><s:Value>s:${f.code}</s:Value>${subcodes}</s:Code>` +
    `<s:Reason><s:Text xml:lang="en">${xmlEscape(f.reason)}</s:Text></s:Reason></s:Fault>`);
}

export const faults = {
  notAuthorized: () => fault('Sender', ['ter:NotAuthorized'], 'Sender not authorized'),
  actionNotSupported: (what: string) => fault('Receiver', ['ter:ActionNotSupported'], `Optional action not implemented: ${what}`),
  ptzNotSupported: () => fault('Receiver', ['ter:ActionNotSupported', 'ter:PTZNotSupported'], 'PTZ is not supported by this device'),
  invalidArg: (sub: string, reason: string) => fault('Sender', ['ter:InvalidArgVal', `ter:${sub}`], reason),
  wellFormed: (reason: string) => fault('Sender', ['ter:WellFormed'], reason),
};

// ----- durations -----

const DURATION = /^P(?:(\d+(?:\.\d+)?)D)?(?:T(?:(\d+(?:\.\d+)?)H)?(?:(\d+(?:\.\d+)?)M)?(?:(\d+(?:\.\d+)?)S)?)?$/;

/** xs:duration subset used by ONVIF (`PT5S`, `PT0.5S`, `PT1M30S`, `P1DT2H`) in milliseconds; null when not one. */
export function parseDuration(value: string): number | null {
  const m = DURATION.exec(value.trim());
  if (!m || value.trim() === 'P' || value.trim().endsWith('T')) return null;
  const [d, h, min, s] = [m[1], m[2], m[3], m[4]].map((part) => (part ? Number(part) : 0)) as [number, number, number, number];
  return Math.round(((d * 24 + h) * 60 + min) * 60_000 + s * 1000);
}

// ----- WS-Security UsernameToken -----

/** Base64(SHA1(nonce + created + password)), the nonce given in Base64 as it travels. */
export function passwordDigest(nonceBase64: string, created: string, password: string): string {
  return createHash('sha1')
    .update(Buffer.concat([Buffer.from(nonceBase64, 'base64'), Buffer.from(created, 'utf8'), Buffer.from(password, 'utf8')]))
    .digest('base64');
}

export interface Credentials {
  username: string;
  password: string;
}

export type AuthResult = 'ok' | 'missing' | 'bad';

/** Largest difference accepted between `Created` and the camera's clock. */
const MAX_CLOCK_SKEW_MS = 5 * 60_000;

export class UsernameTokenVerifier {
  private readonly seen = new Map<string, number>();

  verify(header: XmlNode, creds: Credentials, now = Date.now()): AuthResult {
    const token = child(child(header, 'Security'), 'UsernameToken');
    if (!token) return 'missing';
    const username = text(token['Username']);
    const passwordNode = token['Password'];
    const password = text(passwordNode);
    if (!safeEqual(username, creds.username)) return 'bad';
    const type = attr(passwordNode, 'Type') ?? '';
    if (type.endsWith('#PasswordText')) return safeEqual(password, creds.password) ? 'ok' : 'bad';
    const nonce = text(token['Nonce']);
    const created = text(token['Created']);
    const createdAt = Date.parse(created);
    if (!nonce || !created || Number.isNaN(createdAt) || Math.abs(now - createdAt) > MAX_CLOCK_SKEW_MS) return 'bad';
    if (!safeEqual(password, passwordDigest(nonce, created, creds.password))) return 'bad';
    return this.remember(`${nonce}|${created}`, now) ? 'ok' : 'bad';
  }

  /** Replay protection: a nonce + created pair is accepted once within the skew window. */
  private remember(key: string, now: number): boolean {
    if (this.seen.has(key)) return false;
    // Insertion order is age order: drop the oldest while full or expired.
    for (const [k, at] of this.seen) {
      if (this.seen.size < 4096 && now - at <= MAX_CLOCK_SKEW_MS * 2) break;
      this.seen.delete(k);
    }
    this.seen.set(key, now);
    return true;
  }
}

export function safeEqual(a: string, b: string): boolean {
  const ab = Buffer.from(a, 'utf8');
  const bb = Buffer.from(b, 'utf8');
  return ab.length === bb.length && timingSafeEqual(ab, bb);
}

// ----- HTTP Digest (RFC 7616, MD5 and SHA-256, qop=auth) and Basic -----

const NONCE_TTL_MS = 5 * 60_000;

export class HttpAuth {
  private readonly secret = randomBytes(32);

  constructor(private readonly realm: string) {}

  /** `WWW-Authenticate` values to send with a 401: MD5 first, as most cameras do, then SHA-256. */
  challenges(now = Date.now()): string[] {
    const nonce = this.nonce(now);
    return [
      `Digest realm="${this.realm}", qop="auth", nonce="${nonce}", stale="FALSE"`,
      `Digest realm="${this.realm}", qop="auth", nonce="${nonce}", algorithm=SHA-256, stale="FALSE"`,
    ];
  }

  verify(authorization: string | undefined, method: string, uri: string, creds: Credentials, allowBasic: boolean, now = Date.now()): AuthResult {
    if (!authorization) return 'missing';
    const space = authorization.indexOf(' ');
    const scheme = authorization.slice(0, space).toLowerCase();
    const rest = authorization.slice(space + 1);
    if (scheme === 'basic' && allowBasic) {
      const decoded = Buffer.from(rest, 'base64').toString('utf8');
      const colon = decoded.indexOf(':');
      return colon > 0 && safeEqual(decoded.slice(0, colon), creds.username) && safeEqual(decoded.slice(colon + 1), creds.password) ? 'ok' : 'bad';
    }
    if (scheme !== 'digest') return 'bad';
    const p = parseAuthParams(rest);
    const algorithm = (p['algorithm'] ?? 'MD5').toUpperCase();
    const hash = algorithm === 'MD5' ? 'md5' : algorithm === 'SHA-256' ? 'sha256' : null;
    if (!hash || !p['nonce'] || !this.nonceValid(p['nonce'], now) || p['uri'] !== uri || p['realm'] !== this.realm) return 'bad';
    if (!safeEqual(p['username'] ?? '', creds.username)) return 'bad';
    const h = (s: string) => createHash(hash).update(s, 'utf8').digest('hex');
    const ha1 = h(`${creds.username}:${this.realm}:${creds.password}`);
    const ha2 = h(`${method}:${uri}`);
    const expected = p['qop']
      ? h(`${ha1}:${p['nonce']}:${p['nc'] ?? ''}:${p['cnonce'] ?? ''}:${p['qop']}:${ha2}`)
      : h(`${ha1}:${p['nonce']}:${ha2}`);
    return safeEqual(p['response'] ?? '', expected) ? 'ok' : 'bad';
  }

  /** Stateless nonce: issue time plus an HMAC of it, so nothing is stored per client. */
  private nonce(now: number): string {
    const ts = now.toString(16);
    return `${ts}${createHmac('sha256', this.secret).update(ts).digest('hex').slice(0, 32)}`;
  }

  private nonceValid(nonce: string, now: number): boolean {
    const ts = nonce.slice(0, -32);
    const issued = Number.parseInt(ts, 16);
    return /^[0-9a-f]+$/.test(ts) && now - issued >= 0 && now - issued < NONCE_TTL_MS && safeEqual(nonce, this.nonce(issued));
  }
}

/** `a="x, y", b=z` → { a: 'x, y', b: 'z' } (quoted values may hold commas). */
export function parseAuthParams(value: string): Record<string, string> {
  const out: Record<string, string> = {};
  const re = /([a-zA-Z0-9_-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^,\s]*))/g;
  for (let m = re.exec(value); m; m = re.exec(value)) out[m[1]!.toLowerCase()] = m[2] ?? m[3] ?? '';
  return out;
}
