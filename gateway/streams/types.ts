/** A stream session's state, as the console shows it instead of a black tile. */
export type SessionState = 'starting' | 'live' | 'reconnecting' | 'failed' | 'stopped' | 'degraded';

export interface SessionInfo {
  deviceId: string;
  state: SessionState;
  /** Why the session is in this state (last error, "idle", "disk full", …). */
  reason: string | null;
  /** copy when the camera sends H.264; transcode otherwise. Null until known. */
  mode: 'copy' | 'transcode' | null;
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
  record: boolean;
}

export interface StateChange {
  deviceId: string;
  state: SessionState;
  reason: string | null;
  mode: 'copy' | 'transcode' | null;
  stderrTail: string | null;
}
