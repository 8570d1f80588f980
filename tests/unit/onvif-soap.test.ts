import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import {
  HttpAuth, SoapParseError, UsernameTokenVerifier, faultXml, faults, parseAuthParams, parseDuration, parseSoap, passwordDigest,
} from '../../gateway/simulator/soap.ts';
import { readProbe } from '../../gateway/simulator/ws-discovery.ts';
import { OnvifError, classifyFailure } from '../../gateway/onvif/onvif-client.ts';
import * as answers from '../../gateway/onvif/onvif-answers.ts';
import { parseProbeMatches, probeMessage } from '../../gateway/onvif/discovery.ts';

const require = createRequire(import.meta.url);
const { Cam } = require('onvif') as typeof import('onvif');

const creds = { username: 'admin', password: 'Pa55-word' };

function securityHeader(password: string, created = new Date().toISOString(), nonce = 'LKqI6G/AikKCQrN0zqZFlg==', type = '#PasswordDigest') {
  const value = type === '#PasswordDigest' ? passwordDigest(nonce, created, password) : password;
  return parseSoap(`<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"><s:Header>
    <Security xmlns="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"><UsernameToken>
    <Username>admin</Username><Password Type="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-username-token-profile-1.0${type}">${value}</Password>
    <Nonce>${nonce}</Nonce><Created xmlns="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd">${created}</Created>
    </UsernameToken></Security></s:Header><s:Body><GetProfiles xmlns="http://www.onvif.org/ver10/media/wsdl"/></s:Body></s:Envelope>`).header;
}

describe('WS-Security UsernameToken', () => {
  it('computes the PasswordDigest of the ONVIF programmer guide example', () => {
    expect(passwordDigest('LKqI6G/AikKCQrN0zqZFlg==', '2010-09-16T07:50:45Z', 'userpassword')).toBe('tuOSpGlFlIXsozq4HFNeeGeFLEI=');
  });

  it('accepts the right password once, refuses a wrong one, a replay, a stale timestamp and no token', () => {
    const v = new UsernameTokenVerifier();
    const created = new Date().toISOString();
    expect(v.verify(securityHeader('Pa55-word', created), creds)).toBe('ok');
    expect(v.verify(securityHeader('Pa55-word', created), creds)).toBe('bad'); // same nonce and time: replay
    expect(v.verify(securityHeader('wrong', created, 'AAAAAAAAAAAAAAAAAAAAAA=='), creds)).toBe('bad');
    expect(v.verify(securityHeader('Pa55-word', '2010-09-16T07:50:45Z', 'BBBBBBBBBBBBBBBBBBBBBB=='), creds)).toBe('bad');
    expect(v.verify({}, creds)).toBe('missing');
    expect(v.verify(securityHeader('Pa55-word', created, 'CCCC', '#PasswordText'), creds)).toBe('ok');
  });

  it('accepts what the onvif package sends', () => {
    const cam = new Cam({ hostname: '127.0.0.1', username: 'admin', password: 'Pa55-word', autoconnect: false });
    (cam as unknown as { timeShift: number }).timeShift = Date.now() - process.uptime() * 1000;
    const xml = (cam as unknown as { _envelopeHeader(): string })._envelopeHeader() + '<GetDeviceInformation xmlns="http://www.onvif.org/ver10/device/wsdl"/></s:Body></s:Envelope>';
    const req = parseSoap(xml);
    expect(req.operation).toBe('GetDeviceInformation');
    expect(new UsernameTokenVerifier().verify(req.header, creds)).toBe('ok');
  });
});

describe('SOAP envelopes', () => {
  it('finds the operation, its parameters and the MessageID', () => {
    const req = parseSoap(`<?xml version="1.0"?><env:Envelope xmlns:env="http://www.w3.org/2003/05/soap-envelope" xmlns:a="http://www.w3.org/2005/08/addressing">
      <env:Header><a:MessageID>urn:uuid:1</a:MessageID></env:Header><env:Body>
      <tptz:ContinuousMove xmlns:tptz="http://www.onvif.org/ver20/ptz/wsdl"><tptz:ProfileToken>Profile_101</tptz:ProfileToken>
      <tptz:Velocity><tt:PanTilt xmlns:tt="http://www.onvif.org/ver10/schema" x="0.5" y="-0.25"/></tptz:Velocity><tptz:Timeout>PT5S</tptz:Timeout>
      </tptz:ContinuousMove></env:Body></env:Envelope>`);
    expect(req.operation).toBe('ContinuousMove');
    expect(req.messageId).toBe('urn:uuid:1');
    expect(req.params['ProfileToken']).toBe('Profile_101');
    expect(req.params['Velocity']).toEqual({ PanTilt: { '@_x': '0.5', '@_y': '-0.25' } });
  });

  it('refuses malformed XML, DTDs, non-envelopes and empty bodies', () => {
    expect(() => parseSoap('<s:Envelope><s:Body><Get></s:Body>')).toThrow(SoapParseError);
    expect(() => parseSoap('<?xml version="1.0"?><!DOCTYPE lol [<!ENTITY a "aaaa">]><Envelope><Body><X>&a;</X></Body></Envelope>')).toThrow(SoapParseError);
    expect(() => parseSoap('<html><body>hi</body></html>')).toThrow(SoapParseError);
    expect(() => parseSoap('<Envelope><Body/></Envelope>')).toThrow(SoapParseError);
    expect(() => parseSoap('\u0000\u0001garbage')).toThrow(SoapParseError);
  });

  it('writes faults the onvif package reads as errors', async () => {
    const { parseSOAPString } = require('onvif/lib/utils.js') as { parseSOAPString: (xml: string, cb: (err: Error | null) => void) => void };
    const err = await new Promise<Error | null>((resolve) => parseSOAPString(faultXml(faults.notAuthorized()), resolve));
    expect(err?.message).toMatch(/Sender not authorized/);
    expect(classifyFailure(err)).toMatchObject({ code: 'auth' });
  });
});

describe('durations', () => {
  it.each([
    ['PT5S', 5000], ['PT0.5S', 500], ['PT1M30S', 90_000], ['PT2H', 7_200_000], ['P1DT1S', 86_401_000], ['PT0S', 0],
  ])('%s is %d ms', (text, ms) => expect(parseDuration(text)).toBe(ms));

  it.each(['', 'P', 'PT', '5S', 'PTxS', 'PT-1S', 'PT5', 'T5S'])('%j is not a duration', (text) => expect(parseDuration(text)).toBeNull());
});

describe('HTTP authentication', () => {
  it('verifies a Digest answer computed by the onvif package, MD5 and SHA-256', () => {
    const auth = new HttpAuth('IP Camera(cam-001)');
    const cam = new Cam({ hostname: '127.0.0.1', username: 'admin', password: 'Pa55-word', autoconnect: false });
    for (const challenge of auth.challenges()) {
      const header = cam.digestAuth([challenge], { method: 'POST', path: '/onvif/device_service' });
      expect(auth.verify(header, 'POST', '/onvif/device_service', creds, false)).toBe('ok');
      expect(auth.verify(header, 'POST', '/onvif/media_service', creds, false)).toBe('bad');
      expect(auth.verify(header, 'POST', '/onvif/device_service', { ...creds, password: 'x' }, false)).toBe('bad');
    }
  });

  it('expires nonces and accepts Basic only where allowed', () => {
    const auth = new HttpAuth('r');
    const cam = new Cam({ hostname: 'h', username: 'admin', password: 'Pa55-word', autoconnect: false });
    const old = cam.digestAuth([auth.challenges(Date.now() - 10 * 60_000)[0]!], { method: 'GET', path: '/s' });
    expect(auth.verify(old, 'GET', '/s', creds, false)).toBe('bad');
    const basic = `Basic ${Buffer.from('admin:Pa55-word').toString('base64')}`;
    expect(auth.verify(basic, 'GET', '/s', creds, true)).toBe('ok');
    expect(auth.verify(basic, 'GET', '/s', creds, false)).toBe('bad');
    expect(auth.verify(undefined, 'GET', '/s', creds, true)).toBe('missing');
  });

  it('parses quoted parameters with commas', () => {
    expect(parseAuthParams('username="a", qop=auth, uri="/x?a=1,2", nc=00000001')).toEqual({ username: 'a', qop: 'auth', uri: '/x?a=1,2', nc: '00000001' });
  });
});

describe('gateway side: answers and errors', () => {
  it('strips credentials from stream URIs and refuses other schemes', () => {
    expect(answers.cleanUri('rtsp://admin:secret@10.0.0.5:554/Streaming/Channels/101?transportmode=unicast', ['rtsp'])).toBe('rtsp://10.0.0.5:554/Streaming/Channels/101?transportmode=unicast');
    expect(answers.cleanUri('rtsp://10.0.0.5/cam/realmonitor?channel=1&user=admin&password=x', ['rtsp'])).toBe('rtsp://10.0.0.5/cam/realmonitor?channel=1');
    expect(answers.cleanUri('file:///etc/passwd', ['rtsp'])).toBeNull();
    expect(answers.cleanUri('http://10.0.0.5/snap.jpg', ['rtsp'])).toBeNull();
  });

  it('keeps firmware and serial numbers as strings', () => {
    const xml = '<Envelope><Body><GetDeviceInformationResponse><Manufacturer>HIK</Manufacturer><Model>DS-2</Model>' +
      '<FirmwareVersion>5.10</FirmwareVersion><SerialNumber>0012</SerialNumber><HardwareId>88</HardwareId></GetDeviceInformationResponse></Body></Envelope>';
    expect(answers.deviceInformation(xml)).toEqual({ vendor: 'HIK', model: 'DS-2', firmware: '5.10', serial: '0012', hardwareId: '88' });
    expect(() => answers.deviceInformation('<html/>')).toThrow(answers.ProtocolAnswerError);
  });

  it('classifies failures', () => {
    const err = (message: string, code?: string) => Object.assign(new Error(message), code ? { code } : {});
    expect(classifyFailure(err('connect ECONNREFUSED', 'ECONNREFUSED')).code).toBe('unreachable');
    expect(classifyFailure(err('Network timeout')).code).toBe('timeout');
    expect(classifyFailure(err('Digest authentication failed 401')).code).toBe('auth');
    expect(classifyFailure(err('Wrong ONVIF SOAP response')).code).toBe('protocol');
    expect(classifyFailure(err('Parse Error', 'HPE_INVALID_CONSTANT')).code).toBe('protocol');
    expect(classifyFailure(err('ONVIF SOAP Fault: Optional action not implemented')).code).toBe('unsupported');
    expect(classifyFailure(new OnvifError('auth', 'x')).code).toBe('auth');
  });

  it('says exactly what failed: the kind behind each code, from Node\'s error or the fault\'s subcodes', () => {
    const err = (message: string, code?: string) => Object.assign(new Error(message), code ? { code } : {});
    expect(classifyFailure(err('connect ECONNREFUSED', 'ECONNREFUSED')).kind).toBe('refused');
    expect(classifyFailure(err('getaddrinfo ENOTFOUND cam.example', 'ENOTFOUND')).kind).toBe('host_not_found');
    expect(classifyFailure(err('connect EHOSTUNREACH', 'EHOSTUNREACH')).kind).toBe('unreachable');
    expect(classifyFailure(err('Wrong ONVIF SOAP response')).kind).toBe('not_onvif');
    expect(classifyFailure(Object.assign(new Error('too big'), { code: 'ERR_ONVIF_ANSWER_TOO_LARGE' })).kind).toBe('too_large');
    expect(classifyFailure(err('ONVIF SOAP Fault: Optional action not implemented')).kind).toBe('unsupported');
    const fault = (sub: string, reason: string) => ({ xml: faultXml(faults.invalidArg(sub, reason)), err: err(`ONVIF SOAP Fault: ${reason}`) });
    for (const [sub, kind] of [['NoToken', 'no_token'], ['PresetExist', 'preset_exists'], ['InvalidPresetName', 'invalid_preset_name'], ['Other', 'fault']] as const) {
      const f = fault(sub, 'refused');
      expect(classifyFailure(f.err, f.xml)).toMatchObject({ code: 'protocol', kind, deviceReason: 'refused' });
    }
    expect(classifyFailure(err('ONVIF SOAP Fault: PTZ is not supported by this device'), faultXml(faults.ptzNotSupported())).kind).toBe('no_ptz');
    expect(new OnvifError('protocol', 'x').kind).toBe('not_onvif');
    expect(new OnvifError('unsupported', 'x', { kind: 'no_media' }).kind).toBe('no_media');
  });

  it('reads a fault\'s subcodes, and nothing from what is not a fault', () => {
    expect(answers.faultSubcodes(faultXml(faults.invalidArg('NoToken', 'No such preset')))).toEqual(['InvalidArgVal', 'NoToken']);
    expect(answers.faultSubcodes(faultXml(faults.notAuthorized()))).toEqual(['NotAuthorized']);
    expect(answers.faultSubcodes('<Envelope><Body><GetStatusResponse/></Body></Envelope>')).toEqual([]);
    expect(answers.faultSubcodes('\u0000Fault garbage')).toEqual([]);
    expect(answers.faultSubcodes(undefined)).toEqual([]);
  });

  it('reads ProbeMatches for our probe only, and ignores junk', () => {
    const probe = readProbe(probeMessage('urn:uuid:42'));
    expect(probe).toEqual({ messageId: 'urn:uuid:42', types: ['dn:NetworkVideoTransmitter'], scopes: [] });
    const match = (relatesTo: string) => Buffer.from(`<e:Envelope xmlns:e="x" xmlns:w="y" xmlns:d="z"><e:Header><w:RelatesTo>${relatesTo}</w:RelatesTo></e:Header>
      <e:Body><d:ProbeMatches><d:ProbeMatch><w:EndpointReference><w:Address>urn:uuid:abc</w:Address></w:EndpointReference>
      <d:Types>dn:NetworkVideoTransmitter</d:Types><d:Scopes>onvif://www.onvif.org/name/%E8%B7%AF%E5%8F%A3 onvif://www.onvif.org/hardware/X1</d:Scopes>
      <d:XAddrs>http://10.1.1.1/onvif/device_service http://192.168.1.9:8080/onvif/device_service</d:XAddrs></d:ProbeMatch></d:ProbeMatches></e:Body></e:Envelope>`);
    expect(parseProbeMatches(match('urn:uuid:42'), 'urn:uuid:42', '192.168.1.9')).toEqual([{
      urn: 'urn:uuid:abc', xaddrs: ['http://10.1.1.1/onvif/device_service', 'http://192.168.1.9:8080/onvif/device_service'],
      host: '192.168.1.9', port: 8080, scopes: ['onvif://www.onvif.org/name/%E8%B7%AF%E5%8F%A3', 'onvif://www.onvif.org/hardware/X1'],
      name: '路口', hardware: 'X1', types: ['dn:NetworkVideoTransmitter'],
    }]);
    expect(parseProbeMatches(match('urn:uuid:other'), 'urn:uuid:42', '192.168.1.9')).toEqual([]);
    expect(parseProbeMatches(Buffer.from([0, 1, 2, 0xff]), 'urn:uuid:42', '1.2.3.4')).toEqual([]);
    expect(readProbe(Buffer.from('<<<not xml'))).toBeNull();
  });
});
