/**
 * WS-Discovery responder for the simulated cameras: answers a Probe (SOAP over UDP) with
 * one ProbeMatches per camera, sent unicast to whoever asked. It listens on the
 * multicast group 239.255.255.250:3702 (joined on loopback, and on every IPv4 interface
 * when bound to a wildcard address) and on a unicast port of its own, so a client can
 * also probe one address directly. Malformed datagrams are ignored.
 */
import dgram from 'node:dgram';
import os from 'node:os';
import { randomUUID } from 'node:crypto';
import { log } from '../../core/log.ts';
import type { SimCamera } from './types.ts';
import { child, parseXml, text, xmlEscape as esc } from './soap.ts';
import { cameraScopes, endpointUrn } from './onvif-device.ts';

export const WS_DISCOVERY_GROUP = '239.255.255.250';
export const WS_DISCOVERY_PORT = 3702;

export interface WsDiscoveryResponder {
  unicastPort: number;
  /** Whether the multicast group could be joined. */
  multicast: boolean;
  close(): Promise<void>;
}

const MATCHED_TYPES = new Set(['NetworkVideoTransmitter', 'Device']);

export async function startWsDiscovery(
  cameras: () => SimCamera[],
  opts: { unicastPort?: number; multicast?: boolean; host?: string } = {},
): Promise<WsDiscoveryResponder> {
  const logger = log.child({ component: 'sim-ws-discovery' });
  const host = opts.host ?? '0.0.0.0';
  const instanceId = Math.floor(Date.now() / 1000);
  let messageNumber = 0;

  function onMessage(socket: dgram.Socket, msg: Buffer, rinfo: dgram.RemoteInfo, delayMs: number): void {
    const probe = readProbe(msg);
    if (!probe) return;
    const replies: Buffer[] = [];
    for (const camera of cameras()) {
      if (camera.onvifPort <= 0 || camera.faults.has('drop') || !matches(camera, probe)) continue;
      messageNumber += 1;
      replies.push(camera.faults.has('garbage')
        ? Buffer.from(`\u0000${randomUUID()}${randomUUID()}`)
        : Buffer.from(probeMatches(camera, probe.messageId, advertisedHost(camera, rinfo.address), instanceId, messageNumber)));
    }
    const send = () => {
      for (const reply of replies) socket.send(reply, rinfo.port, rinfo.address, (err) => err && logger.debug({ err }, 'probe reply not sent'));
    };
    if (delayMs > 0) setTimeout(send, Math.floor(Math.random() * delayMs)).unref();
    else send();
  }

  const unicast = dgram.createSocket({ type: 'udp4' });
  unicast.on('message', (msg, rinfo) => onMessage(unicast, msg, rinfo, 0));
  unicast.on('error', (err) => logger.warn({ err }, 'ws-discovery unicast socket error'));
  await new Promise<void>((resolve, reject) => {
    unicast.once('error', reject);
    unicast.bind(opts.unicastPort ?? 0, host, () => {
      unicast.off('error', reject);
      resolve();
    });
  });

  let multicast: dgram.Socket | null = null;
  if (opts.multicast !== false) {
    multicast = await joinGroup(host).catch((err: unknown) => {
      logger.warn({ err }, 'cannot join the WS-Discovery multicast group; answering unicast probes only');
      return null;
    });
    const socket = multicast;
    // Spec'd random delay before a multicast reply (APP_MAX_DELAY is 500 ms; kept short here).
    socket?.on('message', (msg, rinfo) => onMessage(socket, msg, rinfo, 50));
    socket?.on('error', (err) => logger.warn({ err }, 'ws-discovery multicast socket error'));
  }

  return {
    unicastPort: unicast.address().port,
    multicast: multicast !== null,
    close: async () => {
      await Promise.all([unicast, multicast].map((s) => s && new Promise<void>((resolve) => {
        try {
          s.close(() => resolve());
        } catch {
          resolve();
        }
      })));
    },
  };
}

/** Bind 3702 (shared with other listeners) and join the group on loopback and, for a wildcard host, every IPv4 interface. */
async function joinGroup(host: string): Promise<dgram.Socket> {
  const socket = dgram.createSocket({ type: 'udp4', reuseAddr: true });
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.bind(WS_DISCOVERY_PORT, '0.0.0.0', () => {
      socket.off('error', reject);
      resolve();
    });
  });
  const wildcard = host === '0.0.0.0';
  const interfaces = wildcard ? ['127.0.0.1', ...externalIPv4()] : [host];
  let joined = 0;
  for (const iface of interfaces) {
    try {
      socket.addMembership(WS_DISCOVERY_GROUP, iface);
      joined += 1;
    } catch {
      // an interface without multicast: the others may still work
    }
  }
  if (joined === 0) {
    socket.close();
    throw new Error(`could not join ${WS_DISCOVERY_GROUP} on ${interfaces.join(', ')}`);
  }
  socket.setMulticastLoopback(true);
  return socket;
}

function externalIPv4(): string[] {
  return Object.values(os.networkInterfaces()).flat()
    .filter((a) => a && a.family === 'IPv4' && !a.internal)
    .map((a) => a!.address);
}

/** The camera's address for XAddrs; for a camera bound to a wildcard, a local address on the asker's side. */
function advertisedHost(camera: SimCamera, remote: string): string {
  const host = camera.spec.host;
  if (host && host !== '0.0.0.0' && host !== '::') return host;
  if (remote.startsWith('127.')) return '127.0.0.1';
  return externalIPv4()[0] ?? '127.0.0.1';
}

interface Probe {
  messageId: string;
  types: string[];
  scopes: string[];
}

export function readProbe(msg: Buffer): Probe | null {
  if (msg.length > 65_507) return null;
  try {
    const env = child(parseXml(msg.toString('utf8')), 'Envelope');
    const probe = child(child(env, 'Body'), 'Probe');
    if (!probe) return null;
    const split = (v: unknown) => text(v).split(/\s+/).filter(Boolean);
    return { messageId: text(child(env, 'Header')?.['MessageID']), types: split(probe['Types']), scopes: split(probe['Scopes']) };
  } catch {
    return null;
  }
}

/** Types match by local name (prefixes are the prober's own); each asked scope must prefix one of ours (RFC 3986 rule). */
function matches(camera: SimCamera, probe: Probe): boolean {
  const typesOk = probe.types.length === 0 || probe.types.some((t) => MATCHED_TYPES.has(t.split(':').pop() ?? ''));
  const ours = cameraScopes(camera);
  const scopesOk = probe.scopes.every((s) => ours.some((o) => o === s || o.startsWith(s.endsWith('/') ? s : `${s}/`)));
  return typesOk && scopesOk;
}

export function probeMatches(camera: SimCamera, relatesTo: string, host: string, instanceId: number, messageNumber: number): string {
  const xaddr = `http://${host.includes(':') ? `[${host}]` : host}:${camera.onvifPort}/onvif/device_service`;
  return '<?xml version="1.0" encoding="UTF-8"?>' +
    '<SOAP-ENV:Envelope xmlns:SOAP-ENV="http://www.w3.org/2003/05/soap-envelope" ' +
    'xmlns:wsa="http://schemas.xmlsoap.org/ws/2004/08/addressing" xmlns:d="http://schemas.xmlsoap.org/ws/2005/04/discovery" ' +
    'xmlns:dn="http://www.onvif.org/ver10/network/wsdl" xmlns:tds="http://www.onvif.org/ver10/device/wsdl">' +
    `<SOAP-ENV:Header><wsa:MessageID>urn:uuid:${randomUUID()}</wsa:MessageID>` +
    (relatesTo ? `<wsa:RelatesTo>${esc(relatesTo)}</wsa:RelatesTo>` : '') +
    '<wsa:To SOAP-ENV:mustUnderstand="true">http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous</wsa:To>' +
    '<wsa:Action SOAP-ENV:mustUnderstand="true">http://schemas.xmlsoap.org/ws/2005/04/discovery/ProbeMatches</wsa:Action>' +
    `<d:AppSequence SOAP-ENV:mustUnderstand="true" InstanceId="${instanceId}" MessageNumber="${messageNumber}"/></SOAP-ENV:Header>` +
    '<SOAP-ENV:Body><d:ProbeMatches><d:ProbeMatch>' +
    `<wsa:EndpointReference><wsa:Address>${endpointUrn(camera)}</wsa:Address></wsa:EndpointReference>` +
    '<d:Types>dn:NetworkVideoTransmitter tds:Device</d:Types>' +
    `<d:Scopes>${cameraScopes(camera).map(esc).join(' ')}</d:Scopes>` +
    `<d:XAddrs>${esc(xaddr)}</d:XAddrs><d:MetadataVersion>1</d:MetadataVersion>` +
    '</d:ProbeMatch></d:ProbeMatches></SOAP-ENV:Body></SOAP-ENV:Envelope>';
}
