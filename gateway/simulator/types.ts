/**
 * The simulated camera: one object shared by the simulator's RTSP server
 * (rtsp-server.ts), its H.264/H.265 sources (source.ts), its ONVIF SOAP service
 * (onvif-server.ts) and WS-Discovery responder (ws-discovery.ts).
 */

/** ONVIF generic spaces: pan and tilt in [-1, 1], zoom in [0, 1]. */
export interface PtzVector {
  pan: number;
  tilt: number;
  zoom: number;
}

export interface PtzPreset {
  token: string;
  name: string;
  position: PtzVector;
}

export interface PtzState {
  position: PtzVector;
  /** Set by ContinuousMove, cleared by Stop or when `moveUntil` passes. */
  velocity: PtzVector | null;
  moveStartedAt: number | null;
  moveUntil: number | null;
  presets: Map<string, PtzPreset>;
}

/**
 * Faults a test can switch on and off at any time:
 * - `drop`: close every RTSP connection now and refuse new ones (connection refused / closed);
 * - `stall`: keep connections open but stop sending media;
 * - `garbage`: answer RTSP and ONVIF with bytes that are not the protocol;
 * - `refuse-auth`: reject every credential (RTSP 401, ONVIF NotAuthorized);
 * - `hostile-uris`: report URIs no client may open: the main profile's stream URI is a
 *   `concat:` of the real one and `file:///etc/passwd`, every snapshot URI is `file:///etc/passwd`
 *   (the sub profile's stream URI stays usable).
 */
export type SimFault = 'drop' | 'stall' | 'garbage' | 'refuse-auth' | 'hostile-uris';

export interface SimCameraSpec {
  /** Short id, used in paths and logs: `cam-001`. */
  id: string;
  /**
   * The WS-Discovery endpoint UUID (`urn:uuid:…`, without the prefix). Unique per camera across
   * simulators; a random one when absent (startSimulator derives it from its seed and the id).
   */
  uuid?: string;
  /** Display name, may be Chinese: `城关镇人民路口-01`. */
  name: string;
  /** National 20-digit device code, when the site uses one. */
  code?: string;
  username: string;
  password: string;
  ptz: boolean;
  vendor: string;
  model: string;
  serial: string;
  firmware: string;
  /** Main stream encode size and rate. */
  width: number;
  height: number;
  fps: number;
  /**
   * Codec of the main stream (default `h264`). The sub stream is always H.264, as on the cameras
   * the platform meets: H.265 main streams are common, H.265 sub streams rare.
   */
  codec?: 'h264' | 'h265';
  /**
   * Keyframe interval of both streams in seconds, 1 to 10 (default 1). Real cameras ship with 2–4 s;
   * a long GOP is what makes a viewer wait for the first picture, so tests need to choose it.
   */
  gopSeconds?: number;
  /**
   * The preset of a dome camera as it leaves the factory: H.265 main stream with a 4 s GOP. `codec`
   * and `gopSeconds`, when also given, must agree with it (encoding.ts says so by name).
   */
  factoryDefault?: boolean;
  /**
   * Optional pre-encoded Annex B file looped in real time instead of a live encoder: H.264, or H.265
   * when `codec` is `h265` (it then serves the main stream; the sub stream stays a live H.264 encode).
   */
  sourceFile?: string;
  /** Ports to bind; 0 picks a free one. */
  rtspPort: number;
  onvifPort: number;
  /** Address to bind and to advertise in URIs. */
  host: string;
  /** IANA time zone of the burned-in clock (the site's); the machine's when absent. */
  timezone?: string;
}

/** The runtime view the protocol servers read and change. */
export interface SimCamera {
  /** The spec as configured now: Simulator.reconfigure replaces it (read it per use, do not keep it). */
  readonly spec: SimCameraSpec;
  /** Endpoint UUID (spec.uuid, or a random one). */
  readonly uuid: string;
  readonly ptz: PtzState;
  readonly faults: Set<SimFault>;
  /** Actual ports once listening. */
  rtspPort: number;
  onvifPort: number;
  /** `rtsp://host:port/Streaming/Channels/101` (main) and `/102` (sub). */
  rtspUri(profile: 'main' | 'sub'): string;
  onvifUri(): string;
  snapshotUri(): string;
  /** A JPEG of what the camera shows now (clock, name, PTZ position burned in). */
  snapshot(): Promise<Buffer>;
  /** RTSP sessions currently playing (for tests: "the simulator sees one RTSP client"). */
  rtspClients(): number;
  /** PTZ position now, integrating any continuous move up to this moment. */
  ptzPosition(now?: number): PtzVector;
}
