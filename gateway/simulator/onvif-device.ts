/**
 * ONVIF Device (ver10) and Media (ver10) operations of the simulated camera: what an
 * NVR or the `onvif` npm package asks on connect (date and time, capabilities, services,
 * device information, profiles, video sources) and the stream and snapshot URIs.
 * Each operation returns the inner XML of the SOAP Body, or a fault.
 */
import { createHash } from 'node:crypto';
import type { SimCamera } from './types.ts';
import { type SoapFault, type XmlNode, faults, text, xmlEscape as esc } from './soap.ts';
import { ptzConfigurationXml } from './onvif-ptz.ts';
import { streamConfig, type StreamConfig } from './encoding.ts';

export interface OpContext {
  camera: SimCamera;
  params: XmlNode;
  /** `http://host:port` the client reached the camera at, for XAddrs. */
  base: string;
  now: number;
}

export type OpResult = string | SoapFault;
export type Operation = (ctx: OpContext) => OpResult | Promise<OpResult>;

export const PROFILE_MAIN = 'Profile_101';
export const PROFILE_SUB = 'Profile_102';
const VIDEO_SOURCE = 'VideoSource_1';

/** A name-based UUID (SHA-1, like RFC 4122 version 5): the same name gives the same UUID. */
export function nameUuid(name: string): string {
  const h = createHash('sha1').update(`skynet-sim:${name}`).digest();
  h[6] = (h[6]! & 0x0f) | 0x50;
  h[8] = (h[8]! & 0x3f) | 0x80;
  const hex = h.subarray(0, 16).toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** The camera's WS-Discovery endpoint reference: `urn:uuid:` and its unique UUID. */
export function endpointUrn(camera: SimCamera): string {
  return `urn:uuid:${camera.uuid}`;
}

export function cameraScopes(camera: SimCamera): string[] {
  const { spec } = camera;
  return [
    'onvif://www.onvif.org/type/video_encoder',
    ...(spec.ptz ? ['onvif://www.onvif.org/type/ptz'] : []),
    'onvif://www.onvif.org/Profile/Streaming',
    `onvif://www.onvif.org/name/${encodeURIComponent(spec.name)}`,
    `onvif://www.onvif.org/hardware/${encodeURIComponent(spec.model)}`,
    'onvif://www.onvif.org/location/country/china',
  ];
}

export interface StreamProfile extends StreamConfig {
  token: string;
  name: string;
  bitrate: number;
  stream: 'main' | 'sub';
}

/** Main at the camera's size and codec; sub as the encoder makes it (encoding.ts streamConfig), always H.264. */
export function streamProfiles(camera: SimCamera): StreamProfile[] {
  return [
    { token: PROFILE_MAIN, name: 'mainStream', ...streamConfig(camera.spec, 'main'), bitrate: 4096, stream: 'main' },
    { token: PROFILE_SUB, name: 'subStream', ...streamConfig(camera.spec, 'sub'), bitrate: 512, stream: 'sub' },
  ];
}

const encoderToken = (p: StreamProfile) => `VideoEncoder_${p.token}`;

function findEncoder(camera: SimCamera, params: XmlNode): StreamProfile | SoapFault {
  const token = text(params['ConfigurationToken']);
  return streamProfiles(camera).find((p) => encoderToken(p) === token) ?? faults.invalidArg('NoConfig', `No such configuration: ${token}`);
}

/**
 * The children of a Media1 VideoEncoderConfiguration as the stream is encoded: Encoding H264 or H265,
 * the size, FrameRateLimit, and GovLength (the keyframe interval in frames). The ver10 schema knows
 * only H264 and MPEG4 elements; cameras that send H.265 over Media1 report `H265` in Encoding and an
 * `H265` element shaped like the H264 one (as Media2's H265 profile names it: Main), so that is what
 * this camera does.
 */
export function videoEncoderXml(p: StreamProfile): string {
  const codec = p.codec === 'h265'
    ? `<tt:H265><tt:GovLength>${p.gopFrames}</tt:GovLength><tt:H265Profile>Main</tt:H265Profile></tt:H265>`
    : `<tt:H264><tt:GovLength>${p.gopFrames}</tt:GovLength><tt:H264Profile>Baseline</tt:H264Profile></tt:H264>`;
  return `<tt:Name>VideoEncoder_${p.stream}</tt:Name><tt:UseCount>1</tt:UseCount>` +
    `<tt:Encoding>${p.codec === 'h265' ? 'H265' : 'H264'}</tt:Encoding><tt:Resolution><tt:Width>${p.width}</tt:Width><tt:Height>${p.height}</tt:Height></tt:Resolution>` +
    `<tt:Quality>3</tt:Quality><tt:RateControl><tt:FrameRateLimit>${p.fps}</tt:FrameRateLimit><tt:EncodingInterval>1</tt:EncodingInterval>` +
    `<tt:BitrateLimit>${p.bitrate}</tt:BitrateLimit></tt:RateControl>${codec}` +
    `<tt:Multicast><tt:Address><tt:Type>IPv4</tt:Type><tt:IPv4Address>0.0.0.0</tt:IPv4Address></tt:Address><tt:Port>0</tt:Port><tt:TTL>1</tt:TTL>` +
    `<tt:AutoStart>false</tt:AutoStart></tt:Multicast><tt:SessionTimeout>PT60S</tt:SessionTimeout>`;
}

function findProfile(camera: SimCamera, params: XmlNode): StreamProfile | SoapFault {
  const token = text(params['ProfileToken']);
  return streamProfiles(camera).find((p) => p.token === token) ?? faults.invalidArg('NoProfile', `No such profile: ${token}`);
}

function dateTimeXml(d: Date): string {
  return `<tt:Time><tt:Hour>${d.getUTCHours()}</tt:Hour><tt:Minute>${d.getUTCMinutes()}</tt:Minute><tt:Second>${d.getUTCSeconds()}</tt:Second></tt:Time>` +
    `<tt:Date><tt:Year>${d.getUTCFullYear()}</tt:Year><tt:Month>${d.getUTCMonth() + 1}</tt:Month><tt:Day>${d.getUTCDate()}</tt:Day></tt:Date>`;
}

const xaddr = (ctx: OpContext, service: string) => esc(`${ctx.base}/onvif/${service}`);

const version = (major: number, minor: number) => `<tds:Version><tt:Major>${major}</tt:Major><tt:Minor>${minor}</tt:Minor></tds:Version>`;

function profileXml(camera: SimCamera, p: StreamProfile): string {
  const { width, height } = camera.spec;
  return `<trt:Profiles token="${p.token}" fixed="true"><tt:Name>${p.name}</tt:Name>` +
    `<tt:VideoSourceConfiguration token="VideoSourceConfig_1"><tt:Name>VideoSourceConfig</tt:Name><tt:UseCount>2</tt:UseCount>` +
    `<tt:SourceToken>${VIDEO_SOURCE}</tt:SourceToken><tt:Bounds x="0" y="0" width="${width}" height="${height}"/></tt:VideoSourceConfiguration>` +
    `<tt:VideoEncoderConfiguration token="${encoderToken(p)}">${videoEncoderXml(p)}</tt:VideoEncoderConfiguration>` +
    (camera.spec.ptz ? ptzConfigurationXml('tt') : '') +
    `</trt:Profiles>`;
}

export const deviceOperations: Record<string, Operation> = {
  GetSystemDateAndTime: ({ now }) => {
    const utc = new Date(now);
    const local = new Date(now + 8 * 3_600_000);
    return `<tds:GetSystemDateAndTimeResponse><tds:SystemDateAndTime><tt:DateTimeType>NTP</tt:DateTimeType>` +
      `<tt:DaylightSavings>false</tt:DaylightSavings><tt:TimeZone><tt:TZ>CST-8</tt:TZ></tt:TimeZone>` +
      `<tt:UTCDateTime>${dateTimeXml(utc)}</tt:UTCDateTime><tt:LocalDateTime>${dateTimeXml(local)}</tt:LocalDateTime>` +
      `</tds:SystemDateAndTime></tds:GetSystemDateAndTimeResponse>`;
  },

  GetDeviceInformation: ({ camera: { spec } }) =>
    `<tds:GetDeviceInformationResponse><tds:Manufacturer>${esc(spec.vendor)}</tds:Manufacturer><tds:Model>${esc(spec.model)}</tds:Model>` +
    `<tds:FirmwareVersion>${esc(spec.firmware)}</tds:FirmwareVersion><tds:SerialNumber>${esc(spec.serial)}</tds:SerialNumber>` +
    `<tds:HardwareId>${esc(spec.code ?? spec.model)}</tds:HardwareId></tds:GetDeviceInformationResponse>`,

  GetCapabilities: (ctx) =>
    `<tds:GetCapabilitiesResponse><tds:Capabilities>` +
    `<tt:Device><tt:XAddr>${xaddr(ctx, 'device_service')}</tt:XAddr><tt:Network><tt:IPFilter>false</tt:IPFilter>` +
    `<tt:ZeroConfiguration>false</tt:ZeroConfiguration><tt:IPVersion6>false</tt:IPVersion6><tt:DynDNS>false</tt:DynDNS></tt:Network>` +
    `<tt:System><tt:DiscoveryResolve>false</tt:DiscoveryResolve><tt:DiscoveryBye>false</tt:DiscoveryBye><tt:RemoteDiscovery>false</tt:RemoteDiscovery>` +
    `<tt:SystemBackup>false</tt:SystemBackup><tt:SystemLogging>false</tt:SystemLogging><tt:FirmwareUpgrade>false</tt:FirmwareUpgrade>` +
    `<tt:SupportedVersions><tt:Major>2</tt:Major><tt:Minor>60</tt:Minor></tt:SupportedVersions></tt:System></tt:Device>` +
    `<tt:Media><tt:XAddr>${xaddr(ctx, 'media_service')}</tt:XAddr><tt:StreamingCapabilities><tt:RTPMulticast>false</tt:RTPMulticast>` +
    `<tt:RTP_TCP>true</tt:RTP_TCP><tt:RTP_RTSP_TCP>true</tt:RTP_RTSP_TCP></tt:StreamingCapabilities></tt:Media>` +
    (ctx.camera.spec.ptz ? `<tt:PTZ><tt:XAddr>${xaddr(ctx, 'ptz_service')}</tt:XAddr></tt:PTZ>` : '') +
    `</tds:Capabilities></tds:GetCapabilitiesResponse>`,

  GetServices: (ctx) => {
    const include = text(ctx.params['IncludeCapability']) === 'true';
    const service = (ns: string, path: string, caps: string, v: [number, number]) =>
      `<tds:Service><tds:Namespace>${ns}</tds:Namespace><tds:XAddr>${xaddr(ctx, path)}</tds:XAddr>` +
      (include ? `<tds:Capabilities>${caps}</tds:Capabilities>` : '') + version(...v) + `</tds:Service>`;
    return `<tds:GetServicesResponse>` +
      service('http://www.onvif.org/ver10/device/wsdl', 'device_service', deviceCaps(), [2, 60]) +
      service('http://www.onvif.org/ver10/media/wsdl', 'media_service', mediaCaps(), [2, 60]) +
      (ctx.camera.spec.ptz ? service('http://www.onvif.org/ver20/ptz/wsdl', 'ptz_service', '<tptz:Capabilities EFlip="false" Reverse="false"/>', [2, 60]) : '') +
      `</tds:GetServicesResponse>`;
  },

  GetServiceCapabilities: () => `<tds:GetServiceCapabilitiesResponse>${deviceCaps()}</tds:GetServiceCapabilitiesResponse>`,

  GetScopes: ({ camera }) =>
    `<tds:GetScopesResponse>` +
    cameraScopes(camera).map((s) => `<tds:Scopes><tt:ScopeDef>Fixed</tt:ScopeDef><tt:ScopeItem>${esc(s)}</tt:ScopeItem></tds:Scopes>`).join('') +
    `</tds:GetScopesResponse>`,

  GetHostname: ({ camera }) =>
    `<tds:GetHostnameResponse><tds:HostnameInformation><tt:FromDHCP>false</tt:FromDHCP>` +
    `<tt:Name>${esc(camera.spec.id)}</tt:Name></tds:HostnameInformation></tds:GetHostnameResponse>`,

  GetNetworkInterfaces: ({ camera }) => {
    const mac = createHash('sha1').update(camera.spec.id).digest('hex').slice(0, 10).match(/../g)!.join(':');
    return `<tds:GetNetworkInterfacesResponse><tds:NetworkInterfaces token="eth0"><tt:Enabled>true</tt:Enabled>` +
      `<tt:Info><tt:Name>eth0</tt:Name><tt:HwAddress>02:${mac}</tt:HwAddress><tt:MTU>1500</tt:MTU></tt:Info>` +
      `<tt:IPv4><tt:Enabled>true</tt:Enabled><tt:Config><tt:Manual><tt:Address>${esc(camera.spec.host)}</tt:Address>` +
      `<tt:PrefixLength>24</tt:PrefixLength></tt:Manual><tt:DHCP>false</tt:DHCP></tt:Config></tt:IPv4>` +
      `</tds:NetworkInterfaces></tds:GetNetworkInterfacesResponse>`;
  },
};

function deviceCaps(): string {
  return `<tds:Capabilities><tds:Network IPFilter="false" ZeroConfiguration="false" IPVersion6="false" DynDNS="false"/>` +
    `<tds:Security UsernameToken="true" HttpDigest="true"/><tds:System DiscoveryResolve="false" DiscoveryBye="false" ` +
    `RemoteDiscovery="false" SystemBackup="false" SystemLogging="false" FirmwareUpgrade="false"/></tds:Capabilities>`;
}

function mediaCaps(): string {
  return `<trt:Capabilities SnapshotUri="true" Rotation="false"><trt:ProfileCapabilities MaximumNumberOfProfiles="2"/>` +
    `<trt:StreamingCapabilities RTPMulticast="false" RTP_TCP="true" RTP_RTSP_TCP="true"/></trt:Capabilities>`;
}

const HOSTILE_FILE = 'file:///etc/passwd';

/** The stream URI the camera reports: its own, or with the `hostile-uris` fault a `concat:` that would read the client's disk. */
function reportedStreamUri(camera: SimCamera, stream: 'main' | 'sub'): string {
  if (camera.faults.has('hostile-uris') && stream === 'main') return `concat:${camera.rtspUri('main')}|${HOSTILE_FILE}`;
  return camera.rtspUri(stream);
}

export const mediaOperations: Record<string, Operation> = {
  GetProfiles: ({ camera }) =>
    `<trt:GetProfilesResponse>${streamProfiles(camera).map((p) => profileXml(camera, p)).join('')}</trt:GetProfilesResponse>`,

  GetProfile: ({ camera, params }) => {
    const p = findProfile(camera, params);
    if (!('token' in p)) return p;
    return `<trt:GetProfileResponse>${profileXml(camera, p).replace(/^<trt:Profiles/, '<trt:Profile').replace(/<\/trt:Profiles>$/, '</trt:Profile>')}</trt:GetProfileResponse>`;
  },

  GetVideoEncoderConfigurations: ({ camera }) =>
    `<trt:GetVideoEncoderConfigurationsResponse>` +
    streamProfiles(camera).map((p) => `<trt:Configurations token="${encoderToken(p)}">${videoEncoderXml(p)}</trt:Configurations>`).join('') +
    `</trt:GetVideoEncoderConfigurationsResponse>`,

  GetVideoEncoderConfiguration: ({ camera, params }) => {
    const p = findEncoder(camera, params);
    if (!('token' in p)) return p;
    return `<trt:GetVideoEncoderConfigurationResponse><trt:Configuration token="${encoderToken(p)}">${videoEncoderXml(p)}</trt:Configuration>` +
      `</trt:GetVideoEncoderConfigurationResponse>`;
  },

  GetVideoSources: ({ camera: { spec } }) =>
    `<trt:GetVideoSourcesResponse><trt:VideoSources token="${VIDEO_SOURCE}"><tt:Framerate>${spec.fps}</tt:Framerate>` +
    `<tt:Resolution><tt:Width>${spec.width}</tt:Width><tt:Height>${spec.height}</tt:Height></tt:Resolution>` +
    `</trt:VideoSources></trt:GetVideoSourcesResponse>`,

  GetStreamUri: ({ camera, params }) => {
    const p = findProfile(camera, params);
    if (!('token' in p)) return p;
    return `<trt:GetStreamUriResponse><trt:MediaUri><tt:Uri>${esc(reportedStreamUri(camera, p.stream))}</tt:Uri>` +
      `<tt:InvalidAfterConnect>false</tt:InvalidAfterConnect><tt:InvalidAfterReboot>false</tt:InvalidAfterReboot>` +
      `<tt:Timeout>PT60S</tt:Timeout></trt:MediaUri></trt:GetStreamUriResponse>`;
  },

  GetSnapshotUri: ({ camera, params }) => {
    const p = findProfile(camera, params);
    if (!('token' in p)) return p;
    return `<trt:GetSnapshotUriResponse><trt:MediaUri><tt:Uri>${esc(camera.faults.has('hostile-uris') ? HOSTILE_FILE : camera.snapshotUri())}</tt:Uri>` +
      `<tt:InvalidAfterConnect>false</tt:InvalidAfterConnect><tt:InvalidAfterReboot>false</tt:InvalidAfterReboot>` +
      `<tt:Timeout>PT60S</tt:Timeout></trt:MediaUri></trt:GetSnapshotUriResponse>`;
  },

  GetServiceCapabilities: () => `<trt:GetServiceCapabilitiesResponse>${mediaCaps()}</trt:GetServiceCapabilitiesResponse>`,
};
