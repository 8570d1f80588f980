// The low-latency live path in the browser: a WebSocket to the gateway's
// `/media/live/<device>/ws?token=…&stream=…` (gateway/lowlat), whose init message says the codec,
// then the init segment and the fragments (9-byte header each) go into an MseSink. A new init (the
// session's ffmpeg restarted, or a reconnect) rebuilds the MediaSource. A closed socket is renewed
// through the caller's `renew` (a fresh ticket from the live API) with back-off; what cannot be
// helped here (a codec the browser lacks, a socket that never opens) is reported, so the caller
// plays HLS instead. The decisions are lowlat-model.ts's.
import { MseSink } from './mse-sink.ts'
import {
  clockOffsetMs,
  onSocketClosed,
  parseControl,
  parsePacket,
  type InitMessage,
  type LowLatencyFailure,
  type ReconnectReason,
} from './lowlat-model.ts'

/** How often the playhead is steered (rate, gap jumps, trimming): often enough to hold a 0.4 s buffer. */
const STEER_MS = 250

export interface LowLatencyEvents {
  /** An init message: what is about to play (codec, size, main/sub, copy/transcode). */
  init(info: InitMessage): void
  /** The first fragment after an init was buffered: a picture is coming. */
  data(): void
  /** The session's ffmpeg ended; the picture holds until the next init (its restart). */
  ended(reason: string): void
  /** The socket closed and a new one is on its way. */
  reconnecting(reason: ReconnectReason): void
  /** Given up; nothing more happens until start() is called again. */
  failed(failure: LowLatencyFailure, detail: string | null): void
}

export interface LowLatencyOptions {
  video: HTMLVideoElement
  wsUrl: string
  /** A fresh ticket's wsUrl (the token expired, or the session must be opened again). */
  renew: () => Promise<string>
  events: LowLatencyEvents
  /** MediaSource.isTypeSupported unless told otherwise. */
  isTypeSupported?: (mime: string) => boolean
}

/** Whether this browser has what the low-latency path needs. */
export function lowLatencyAvailable(): boolean {
  return typeof window !== 'undefined' && typeof window.MediaSource === 'function' && typeof window.WebSocket === 'function'
}

export class LowLatencyPlayer {
  private ws: WebSocket | null = null
  private sink: MseSink | null = null
  /** The init message whose binary init segment is due next. */
  private announced: InitMessage | null = null
  private offsetMs = 0
  /** The current socket delivered an init: the feed reached this browser. */
  private delivered = false
  /** Sockets in a row that closed without delivering an init. */
  private handshakeFailures = 0
  /** Reconnects since the last fragment was buffered. */
  private attempt = 0
  private gotData = false
  private stopped = true
  private reconnectTimer: number | undefined
  private steerTimer: number | undefined
  private readonly isTypeSupported: (mime: string) => boolean

  constructor(private readonly o: LowLatencyOptions) {
    this.isTypeSupported = o.isTypeSupported ?? ((mime) => MediaSource.isTypeSupported(mime))
  }

  start(): void {
    if (!this.stopped) return
    this.stopped = false
    if (!lowLatencyAvailable()) {
      this.fail('no-mse', null)
      return
    }
    this.steerTimer = window.setInterval(() => this.sink?.tick(), STEER_MS)
    this.connect(this.o.wsUrl)
  }

  /** Close the socket, drop the MediaSource, forget every timer. */
  stop(): void {
    this.stopped = true
    window.clearTimeout(this.reconnectTimer)
    window.clearInterval(this.steerTimer)
    this.reconnectTimer = undefined
    this.steerTimer = undefined
    this.closeSocket()
    this.sink?.destroy()
    this.sink = null
    this.announced = null
  }

  /** Latency of the frame on screen in ms (Date.now() − its gateway arrival, clock-corrected); null when unknown. */
  latencyMs(now = Date.now()): number | null {
    return this.sink?.latencyMs(now, this.offsetMs) ?? null
  }

  private connect(url: string): void {
    let ws: WebSocket
    try {
      ws = new WebSocket(url)
    } catch (err) {
      this.fail('ws-failed', err instanceof Error ? err.message : String(err))
      return
    }
    ws.binaryType = 'arraybuffer'
    this.ws = ws
    this.delivered = false
    ws.onmessage = (ev: MessageEvent) => {
      if (ws !== this.ws || this.stopped) return
      if (typeof ev.data === 'string') this.onText(ev.data)
      else if (ev.data instanceof ArrayBuffer) this.onBinary(ev.data)
    }
    ws.onclose = (ev: CloseEvent) => this.onClose(ws, ev.code)
  }

  private closeSocket(): void {
    const ws = this.ws
    this.ws = null
    if (!ws) return
    ws.onmessage = ws.onclose = null
    try {
      ws.close(1000)
    } catch {
      // already closing
    }
  }

  private onText(text: string): void {
    const msg = parseControl(text)
    if (!msg) return
    if (msg.type === 'init') {
      if (!this.isTypeSupported(msg.mime)) {
        this.fail('unsupported-codec', msg.codec)
        return
      }
      this.offsetMs = clockOffsetMs(msg.serverTime, Date.now())
      this.delivered = true
      this.handshakeFailures = 0
      this.announced = msg
      this.o.events.init(msg)
    } else if (msg.type === 'skip') {
      // the gap before the next keyframe fragment is jumped at the next steer
      this.sink?.tick()
    } else {
      this.o.events.ended(msg.reason)
    }
  }

  private onBinary(data: ArrayBuffer): void {
    const packet = parsePacket(data)
    if (!packet) return
    if (packet.kind === 'init') {
      const init = this.announced
      if (!init) return
      this.announced = null
      // Simplest correct re-init: a new MediaSource for the new timeline and codec.
      this.sink?.destroy()
      this.sink = new MseSink(this.o.video, init.mime, (detail) => this.fail('media-error', detail))
      this.sink.appendInit(packet.payload)
      this.gotData = false
      return
    }
    if (!this.sink) return
    this.sink.appendFragment(packet.payload, packet.arrivedAt, packet.kind === 'keyframe')
    if (!this.gotData) {
      this.gotData = true
      this.attempt = 0
      this.o.events.data()
      void this.o.video.play().catch(() => {
        // muted autoplay is allowed; a refusal only means there is nothing to show yet
      })
    }
  }

  private onClose(ws: WebSocket, code: number): void {
    if (ws !== this.ws || this.stopped) return
    this.ws = null
    const decision = onSocketClosed({ code, delivered: this.delivered, handshakeFailures: this.handshakeFailures, attempt: this.attempt })
    if (decision.action === 'fail') {
      this.fail(decision.failure, `WebSocket closed (${code})`)
      return
    }
    if (!this.delivered) this.handshakeFailures++
    this.attempt++
    this.o.events.reconnecting(decision.reason)
    this.reconnectTimer = window.setTimeout(() => void this.reconnect(), decision.delayMs)
  }

  private async reconnect(): Promise<void> {
    this.reconnectTimer = undefined
    let url: string
    try {
      url = await this.o.renew()
    } catch (err) {
      if (!this.stopped) this.fail('renew-failed', err instanceof Error ? err.message : String(err))
      return
    }
    if (!this.stopped) this.connect(url)
  }

  private fail(failure: LowLatencyFailure, detail: string | null): void {
    if (this.stopped) return
    this.stop()
    this.o.events.failed(failure, detail)
  }
}
