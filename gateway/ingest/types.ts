import type { Logger } from '../../core/log.ts';

/** What the registry says about a stream key: the mobile/body camera it belongs to and whether it may push. */
export interface StreamKeyOwner {
  deviceId: string;
  enabled: boolean;
}

export interface RtmpIngestOptions {
  log: Logger;
  /** Address to listen on ('0.0.0.0' for every interface, '127.0.0.1' for this host only). */
  host: string;
  /** 0 picks a free port; the one bound is returned as `port`. */
  port: number;
  /** Registry lookup by stream key; null for a key nobody owns. */
  lookupStreamKey: (key: string) => Promise<StreamKeyOwner | null>;
  /** A push started (the device is online and its stream session should start). */
  onPublish: (deviceId: string) => void;
  /** A push ended: the pusher left, went silent for `idleTimeoutMs`, or the server closed. */
  onUnpublish: (deviceId: string) => void;
  /** A publisher that sends nothing this long is dropped (default 15 s). */
  idleTimeoutMs?: number;
  /** A connection that neither publishes nor plays within this time is dropped (default 10 s). */
  handshakeTimeoutMs?: number;
  /** Simultaneous TCP connections accepted (default 500). */
  maxConnections?: number;
}

export interface RtmpIngest {
  /** The port actually bound. */
  port: number;
  /** The loopback URL the gateway's own ffmpeg pulls this push from. */
  /** The loopback pull URL of a device's push (by device id: the key is never needed again). */
  sourceUrl(deviceId: string): string;
  /** Device ids pushing right now. */
  publishing(): string[];
  /** Stop listening and drop every connection (publishers get `onUnpublish`); the port is free when it resolves. */
  close(): Promise<void>;
}
