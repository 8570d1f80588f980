import type { VideoCodec } from './decide.ts';
import type { StreamName } from './keys.ts';

/** A stream session's state, as the console shows it instead of a black tile. */
export type SessionState = 'starting' | 'live' | 'reconnecting' | 'failed' | 'stopped' | 'degraded';

export interface SessionInfo {
  deviceId: string;
  /** Which of the camera's streams this session pulls (one session per camera and stream). */
  stream: StreamName;
  state: SessionState;
  /** Why the session is in this state (last error, "idle", "disk full", …). */
  reason: string | null;
  /** copy when the camera sends H.264; transcode otherwise. Null until known. */
  mode: 'copy' | 'transcode' | null;
  /** What the outputs carry (h264, hevc); null until the first run plans it. */
  codec: VideoCodec | null;
  /** RFC 6381 codec string of the low-latency init segment (`avc1.64001f`, `hvc1.1.6.L93.B0`): what a browser tests with MediaSource.isTypeSupported. */
  codecString: string | null;
  width: number | null;
  height: number | null;
  /** Why the session transcodes (the camera's codec), null when it copies. */
  transcodeReason: string | null;
  /** What the session's ffmpeg costs: percent of one core over the last 5 s (a copy well under 1, a 720p transcode tens); null until measured. */
  cpuPercent: number | null;
  recording: boolean;
  startedAt: string | null;
  /** Wall clock time of the newest live segment. */
  lastSegmentAt: string | null;
  restarts: number;
  viewers: number;
}

/** What the supervisor needs to pull one camera (password decrypted in the gateway only). */
export interface StreamSource {
  deviceId: string;
  name: string;
  /** rtsp(s)://… or rtmp://… without credentials; re-checked against the allow-list before ffmpeg. */
  url: string;
  username: string | null;
  password: string | null;
  /** Encoding the registry knows of (from ONVIF profiles), e.g. H264 / H265; null when unknown. */
  encoding: string | null;
  /** Continuous recording (the main stream only: a sub stream never records). */
  record: boolean;
  stream: StreamName;
}

export interface StateChange {
  deviceId: string;
  stream: StreamName;
  state: SessionState;
  reason: string | null;
  mode: 'copy' | 'transcode' | null;
  stderrTail: string | null;
}
