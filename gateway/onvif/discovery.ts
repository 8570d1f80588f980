/**
 * WS-Discovery client: a Probe for NetworkVideoTransmitters sent to the multicast group
 * (on every IPv4 interface, or the one asked for) or to one address, collecting the
 * ProbeMatches that come back within the time given. Answers are matched to our Probe by
 * RelatesTo; malformed or foreign datagrams are ignored. (The `onvif` package's
 * Discovery cannot choose the multicast interface and throws on a stray datagram without
 * an error listener, so this sends the Probe itself.)
 */
import dgram from 'node:dgram';
import os from 'node:os';
import { randomUUID } from 'node:crypto';
import { log } from '../../core/log.ts';
import { get, list, parseSoapXml, str } from './onvif-answers.ts';
import type { DiscoveredDevice } from './types.ts';

export const WS_DISCOVERY_GROUP = '239.255.255.250';
export const WS_DISCOVERY_PORT = 3702;
const MAX_DEVICES = 4096;
const logger = log.child({ component: 'onvif-discovery' });

export function probeMessage(messageId: string): Buffer {
  return Buffer.from('<?xml version="1.0" encoding="UTF-8"?>' +
    '<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" xmlns:a="http://schemas.xmlsoap.org/ws/2004/08/addressing" ' +
    'xmlns:d="http://schemas.xmlsoap.org/ws/2005/04/discovery" xmlns:dn="http://www.onvif.org/ver10/network/wsdl">' +
    `<s:Header><a:MessageID>${messageId}</a:MessageID><a:To s:mustUnderstand="1">urn:schemas-xmlsoap-org:ws:2005:04:discovery</a:To>` +
    '<a:Action s:mustUnderstand="1">http://schemas.xmlsoap.org/ws/2005/04/discovery/Probe</a:Action></s:Header>' +
    '<s:Body><d:Probe><d:Types>dn:NetworkVideoTransmitter</d:Types></d:Probe></s:Body></s:Envelope>');
}

/** The devices in one ProbeMatches datagram; [] when it is not one, or answers another probe. */
export function parseProbeMatches(msg: Buffer, messageId: string, from: string): DiscoveredDevice[] {
  let doc: unknown;
  try {
    doc = parseSoapXml(msg.toString('utf8'), 'ProbeMatches');
  } catch {
    return [];
  }
  const env = get(doc, 'Envelope');
  const relatesTo = str(get(get(env, 'Header'), 'RelatesTo'));
  if (relatesTo && relatesTo !== messageId) return [];
  const out: DiscoveredDevice[] = [];
  for (const match of list(get(get(env, 'Body'), 'ProbeMatches'), 'ProbeMatch')) {
    const urn = str(get(get(match, 'EndpointReference'), 'Address')).slice(0, 256);
    const xaddrs = str(get(match, 'XAddrs')).split(/\s+/).filter((x) => /^https?:\/\//i.test(x)).slice(0, 8);
    const urls = xaddrs.flatMap((x) => {
      try {
        return [new URL(x)];
      } catch {
        return [];
      }
    });
    const chosen = urls.find((u) => u.hostname === from) ?? urls[0];
    if (!urn || !chosen) continue;
    const scopes = str(get(match, 'Scopes')).split(/\s+/).filter(Boolean).slice(0, 64);
    out.push({
      urn,
      xaddrs,
      host: chosen.hostname.replace(/^\[|\]$/g, ''),
      port: Number(chosen.port) || (chosen.protocol === 'https:' ? 443 : 80),
      scopes,
      name: scopeValue(scopes, 'name'),
      hardware: scopeValue(scopes, 'hardware'),
      types: str(get(match, 'Types')).split(/\s+/).filter(Boolean).slice(0, 16),
    });
  }
  return out;
}

function scopeValue(scopes: string[], key: string): string | undefined {
  const prefix = `onvif://www.onvif.org/${key}/`;
  const scope = scopes.find((s) => s.toLowerCase().startsWith(prefix));
  if (!scope) return undefined;
  try {
    return decodeURIComponent(scope.slice(prefix.length));
  } catch {
    return scope.slice(prefix.length);
  }
}

/** This machine's own addresses (loopback included): a device there answers on each of them. */
export function localAddresses(): Set<string> {
  const out = new Set(['127.0.0.1', '::1', 'localhost']);
  for (const a of Object.values(os.networkInterfaces()).flat()) if (a) out.add(a.address.toLowerCase());
  return out;
}

/**
 * One result per endpoint reference AND address: the same device answering twice (the Probe
 * is repeated) or, on this very machine, through several interfaces is one result; two devices
 * that share an endpoint UUID (cloned firmware, simulators) at different addresses are two.
 */
export function discoveryKey(d: Pick<DiscoveredDevice, 'urn' | 'host' | 'port'>, local: ReadonlySet<string> = new Set()): string {
  const host = d.host.toLowerCase();
  return `${d.urn.toLowerCase()} ${local.has(host) || host.startsWith('127.') ? 'local' : host}:${d.port}`;
}

interface Collect {
  bindAddress?: string;
  /** Where to send the Probe: [address, port, multicast interface?]. */
  targets: [string, number, string?][];
  timeoutMs: number;
  /** Resolve this long after the first answer instead of waiting out the timeout. */
  settleMs?: number;
}

function collect({ bindAddress, targets, timeoutMs, settleMs }: Collect): Promise<DiscoveredDevice[]> {
  const messageId = `urn:uuid:${randomUUID()}`;
  const probe = probeMessage(messageId);
  const found = new Map<string, DiscoveredDevice>();
  const local = localAddresses();
  const socket = dgram.createSocket({ type: 'udp4' });
  return new Promise((resolve, reject) => {
    let timer: NodeJS.Timeout | undefined;
    let finished = false;
    const finish = (err?: Error) => {
      if (finished) return;
      finished = true;
      clearTimeout(timer);
      try {
        socket.close();
      } catch {
        // already closed
      }
      if (err) reject(err);
      else resolve([...found.values()]);
    };
    socket.on('error', (err) => finish(err));
    socket.on('message', (msg, rinfo) => {
      for (const device of parseProbeMatches(msg, messageId, rinfo.address)) {
        const key = discoveryKey(device, local);
        const known = found.get(key);
        if (known) known.xaddrs = [...new Set([...known.xaddrs, ...device.xaddrs])];
        else if (found.size < MAX_DEVICES) found.set(key, device);
        if (settleMs !== undefined && found.size === 1 && !known) {
          clearTimeout(timer);
          timer = setTimeout(() => finish(), settleMs);
        }
      }
    });
    socket.bind(0, bindAddress, () => {
      timer = setTimeout(() => finish(), timeoutMs);
      if (targets.some(([, , iface]) => iface)) socket.setMulticastTTL(1);
      // One at a time: the multicast interface is a socket option read when the datagram leaves.
      const send = async () => {
        for (const [address, port, iface] of targets) {
          if (finished) return;
          await new Promise<void>((done) => {
            try {
              if (iface) socket.setMulticastInterface(iface);
              socket.send(probe, port, address, (err) => {
                if (err) logger.debug({ err, iface }, 'probe not sent');
                done();
              });
            } catch (err) {
              logger.debug({ err, iface }, 'probe not sent');
              done();
            }
          });
        }
      };
      void send();
      // UDP may lose the first Probe; WS-Discovery repeats it once.
      setTimeout(() => void send(), Math.min(250, timeoutMs / 4)).unref();
    });
  });
}

/** Multicast Probe on one interface (an IPv4 address such as 127.0.0.1), or on every IPv4 interface. */
export function discover(opts: { timeoutMs: number; interface?: string }): Promise<DiscoveredDevice[]> {
  const interfaces = opts.interface
    ? [opts.interface]
    : [...new Set([...Object.values(os.networkInterfaces()).flat().filter((a) => a?.family === 'IPv4').map((a) => a!.address)])];
  return collect({
    bindAddress: opts.interface,
    targets: interfaces.map((iface): [string, number, string] => [WS_DISCOVERY_GROUP, WS_DISCOVERY_PORT, iface]),
    timeoutMs: opts.timeoutMs,
  });
}

/** Probe one address directly (a device, or a discovery proxy, that answers unicast probes). */
export function probeUnicast(opts: { host: string; port?: number; timeoutMs: number }): Promise<DiscoveredDevice[]> {
  return collect({ targets: [[opts.host, opts.port ?? WS_DISCOVERY_PORT]], timeoutMs: opts.timeoutMs, settleMs: 150 });
}
