import { describe, expect, it } from 'vitest';
import { verifyAuthorization } from '../../gateway/simulator/rtsp-server.ts';
import {
  authorization, chooseChallenge, digestResponse, parseChallenges, relayToken, rewriteResponse, RtspFramer, serialize,
  toCameraUri, toRelayUrls, type RtspMessage,
} from '../../gateway/streams/relay-protocol.ts';
import { connectFailure } from '../../gateway/streams/rtsp-relay.ts';

const TOKEN = 'Q2FtZXJhUGFzc3dvcmRzTmV2ZXJJbkFyZ3Y';
const PREFIX = `rtsp://127.0.0.1:40123/${TOKEN}`;

describe('relay addresses', () => {
  it('maps a relay request URI to the camera and back', () => {
    expect(relayToken(`${PREFIX}/Streaming/Channels/101`)).toBe(TOKEN);
    expect(relayToken('rtsp://127.0.0.1:40123/Streaming/Channels/101')).toBeNull(); // "Streaming" is too short for a token
    expect(toCameraUri(`${PREFIX}/Streaming/Channels/101/trackID=1`, TOKEN, 'rtsp://10.0.0.5:554')).toBe('rtsp://10.0.0.5:554/Streaming/Channels/101/trackID=1');
    expect(toCameraUri(`${PREFIX}?channel=1`, TOKEN, 'rtsps://cam.example:322')).toBe('rtsps://cam.example:322/?channel=1');
    expect(toCameraUri(`rtsp://127.0.0.1:40123/${'x'.repeat(35)}/Streaming`, TOKEN, 'rtsp://10.0.0.5:554')).toBeNull();
    expect(toRelayUrls('rtsp://admin:pw@10.0.0.5:554/a/trackID=1', PREFIX)).toBe(`${PREFIX}/a/trackID=1`);
    expect(toRelayUrls('url=rtsps://cam/a;seq=1,url=rtsp://cam:554/b;seq=2', PREFIX)).toBe(`url=${PREFIX}/a;seq=1,url=${PREFIX}/b;seq=2`);
  });

  it('rewrites every camera URL of an answer (Content-Base, RTP-Info, Location, SDP a=control), its CSeq, and drops its challenges', () => {
    const sdp = [
      'v=0', 'o=- 1 1 IN IP4 10.0.0.5', 's=cam', 't=0 0', 'a=control:*', 'm=video 0 RTP/AVP 96',
      'a=rtpmap:96 H264/90000', 'a=control:rtsp://admin:pw@10.0.0.5/Streaming/Channels/101/trackID=1', '',
    ].join('\r\n');
    const answer: RtspMessage = {
      startLine: 'RTSP/1.0 200 OK',
      headers: [
        ['CSeq', '12'], ['Content-Type', 'application/sdp'], ['Content-Base', 'rtsp://10.0.0.5:554/Streaming/Channels/101/'],
        ['WWW-Authenticate', 'Digest realm="x", nonce="y"'], ['Content-Length', String(Buffer.byteLength(sdp))],
      ],
      body: Buffer.from(sdp),
    };
    const out = rewriteResponse(answer, PREFIX, '3');
    expect(out.headers).toEqual([['CSeq', '3'], ['Content-Type', 'application/sdp'], ['Content-Base', `${PREFIX}/Streaming/Channels/101/`]]);
    const body = out.body.toString();
    expect(body).toContain(`a=control:${PREFIX}/Streaming/Channels/101/trackID=1\r\n`);
    expect(body).toContain('a=control:*\r\n');
    expect(body).not.toContain('pw@');
    const wire = serialize(out).toString();
    expect(wire.startsWith(`RTSP/1.0 200 OK\r\nCSeq: 3\r\nContent-Type: application/sdp\r\nContent-Base: ${PREFIX}/Streaming/Channels/101/\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\nv=0`)).toBe(true);

    const play = rewriteResponse({
      startLine: 'RTSP/1.0 200 OK',
      headers: [['CSeq', '14'], ['Session', 'AB12;timeout=60'], ['RTP-Info', 'url=rtsp://10.0.0.5/Streaming/Channels/101/trackID=1;seq=9;rtptime=100'], ['Location', 'rtsp://10.0.0.7/x']],
      body: Buffer.alloc(0),
    }, PREFIX, '5');
    expect(play.headers).toEqual([['CSeq', '5'], ['Session', 'AB12;timeout=60'], ['RTP-Info', `url=${PREFIX}/Streaming/Channels/101/trackID=1;seq=9;rtptime=100`], ['Location', `${PREFIX}/x`]]);
  });
});

describe('RTSP framing', () => {
  it('splits messages from interleaved frames, passing binary through in slices, across chunk boundaries', () => {
    const f = new RtspFramer();
    const frame = Buffer.from([0x24, 0x00, 0x00, 0x06, 1, 2, 3, 4, 5, 6]);
    const response = Buffer.from('RTSP/1.0 200 OK\r\nCSeq: 2\r\nContent-Length: 3\r\n\r\nabc');
    const all = Buffer.concat([frame, response, frame]);
    const chunks = [...f.push(all.subarray(0, 2)), ...f.push(all.subarray(2, 7)), ...f.push(all.subarray(7, 30)), ...f.push(all.subarray(30))];
    const binary = Buffer.concat(chunks.filter((c) => c.kind === 'binary').map((c) => (c as { data: Buffer }).data));
    expect(binary).toEqual(Buffer.concat([frame, frame]));
    const messages = chunks.filter((c) => c.kind === 'message').map((c) => (c as { message: RtspMessage }).message);
    expect(messages).toHaveLength(1);
    expect(messages[0]!.startLine).toBe('RTSP/1.0 200 OK');
    expect(messages[0]!.body.toString()).toBe('abc');
    // The order on the wire is kept: frame, answer, frame.
    expect(chunks.map((c) => c.kind).filter((k, i, a) => k !== a[i - 1])).toEqual(['binary', 'message', 'binary']);
  });

  it('calls garbage an error, once', () => {
    const f = new RtspFramer();
    expect(f.push(Buffer.from('\x17\x03\x03garbage\r\n\r\n'))).toEqual([{ kind: 'error', reason: 'not RTSP' }]);
    expect(f.push(Buffer.from('RTSP/1.0 200 OK\r\n\r\n'))).toEqual([]);
    expect(new RtspFramer().push(Buffer.from('RTSP/1.0 200 OK\r\nContent-Length: 99999999\r\n\r\n'))[0]).toEqual({ kind: 'error', reason: 'bad Content-Length' });
  });
});

describe('camera authentication (client side)', () => {
  it('computes Digest responses: RFC 2617 (MD5, qop=auth) and RFC 7616 (MD5 and SHA-256)', () => {
    expect(digestResponse({
      username: 'Mufasa', password: 'Circle Of Life', method: 'GET', uri: '/dir/index.html', realm: 'testrealm@host.com',
      nonce: 'dcd98b7102dd2f0e8b11d0f600bfb0c093', qop: 'auth', nc: 1, cnonce: '0a4f113b',
    })).toBe('6629fae49393a05397450978507c4ef1');
    const rfc7616 = {
      username: 'Mufasa', password: 'Circle of Life', method: 'GET', uri: '/dir/index.html', realm: 'http-auth@example.org',
      nonce: '7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v', qop: 'auth', nc: 1, cnonce: 'f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ',
    };
    expect(digestResponse({ ...rfc7616, algorithm: 'MD5' })).toBe('8ca523f5e9506fed4657c9700eebdbec');
    expect(digestResponse({ ...rfc7616, algorithm: 'SHA-256' })).toBe('753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1');
  });

  it('answers a camera\'s challenge in a way the camera checks (the simulator\'s Digest and Basic verifier)', () => {
    const [challenge] = parseChallenges(['Digest realm="Skynet-Sim", nonce="abc123", algorithm="MD5"']);
    const uri = 'rtsp://10.0.0.5:554/Streaming/Channels/101';
    const header = authorization(challenge!, { username: 'admin', password: 'p@ss:w"rd', method: 'DESCRIBE', uri, nc: 1 });
    expect(header).toMatch(/^Digest username="admin", realm="Skynet-Sim", nonce="abc123", uri="rtsp:\/\/10\.0\.0\.5:554\/Streaming\/Channels\/101", response="[0-9a-f]{32}", algorithm=MD5$/);
    const check = (h: string, password: string) => verifyAuthorization(h, { method: 'DESCRIBE', username: 'admin', password, realm: 'Skynet-Sim', nonceValid: (n) => n === 'abc123' });
    expect(check(header, 'p@ss:w"rd')).toBe(true);
    expect(check(header, 'other')).toBe(false);
    const basic = authorization({ scheme: 'basic', params: { realm: 'x' } }, { username: 'admin', password: 'p@ss', method: 'DESCRIBE', uri, nc: 1 });
    expect(basic).toBe(`Basic ${Buffer.from('admin:p@ss').toString('base64')}`);
    expect(check(basic, 'p@ss')).toBe(true);
  });

  it('adds qop, nc, cnonce and opaque when the server asks for them', () => {
    const [c] = parseChallenges(['Digest realm="r", nonce="n", qop="auth,auth-int", opaque="op"']);
    const header = authorization(c!, { username: 'u', password: 'p', method: 'GET', uri: '/x', nc: 2, cnonce: 'cc' });
    const response = digestResponse({ username: 'u', password: 'p', method: 'GET', uri: '/x', realm: 'r', nonce: 'n', qop: 'auth', nc: 2, cnonce: 'cc' });
    expect(header).toBe(`Digest username="u", realm="r", nonce="n", uri="/x", response="${response}", opaque="op", qop=auth, nc=00000002, cnonce="cc"`);
  });

  it('reads several challenges, in one header or many, and prefers Digest (SHA-256 first) to Basic', () => {
    const cs = parseChallenges(['Digest realm="a, b", nonce="n1", qop="auth", Basic realm="a"', 'Digest realm="a", nonce="n2", algorithm=SHA-256']);
    expect(cs.map((c) => [c.scheme, c.params.nonce ?? null])).toEqual([['digest', 'n1'], ['basic', null], ['digest', 'n2']]);
    expect(cs[0]!.params.realm).toBe('a, b');
    expect(chooseChallenge(cs)!.params.nonce).toBe('n2');
    expect(chooseChallenge(cs.slice(0, 2))!.params.nonce).toBe('n1');
    expect(chooseChallenge(parseChallenges(['Basic realm="x"']))!.scheme).toBe('basic');
    expect(chooseChallenge(parseChallenges(['Digest realm="x", nonce="n", algorithm=SHA-512-256']))).toBeNull();
  });

  it('names camera connection failures as the supervisor does', () => {
    const err = (code: string) => Object.assign(new Error(code), { code });
    expect(connectFailure(err('ECONNREFUSED'))).toEqual({ kind: 'refused', reason: 'connection refused' });
    expect(connectFailure(err('ETIMEDOUT'))).toEqual({ kind: 'timeout', reason: 'connection timed out' });
    expect(connectFailure(err('EHOSTUNREACH'))).toEqual({ kind: 'unreachable', reason: 'camera unreachable' });
  });
});
