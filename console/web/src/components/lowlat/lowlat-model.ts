// Pure decisions of the low-latency live player (fragmented MP4 over a WebSocket into MSE, fed
// by the gateway's gateway/lowlat hub): the wire format's header and control messages, how fast
// to play to stay near the live edge and when to jump or seek instead, what to trim, how to react
// to a closed socket, which of the camera's streams to ask for, and the latency maths.
// No DOM: unit-tested with plain values (console/web/src/__tests__/lowlat-model.test.ts).

/** The camera's main and sub streams, and `compat`: the gateway's H.264 transcode of the main stream for a browser that decodes neither. */
export type StreamName = 'main' | 'sub' | 'compat'

/** Every binary message starts with these bytes: kind (1 byte) and the gateway's arrival time (float64 BE). */
export const HEADER_BYTES = 9

export type PacketKind = 'init' | 'fragment' | 'keyframe'

const PACKET_KINDS: Record<number, PacketKind> = { 1: 'init', 2: 'fragment', 3: 'keyframe' }

export interface Packet {
  kind: PacketKind
  /** Gateway Date.now() when the payload's last byte came from ffmpeg (the gateway's clock). */
  arrivedAt: number
  /** The box bytes (ftyp+moov, or moof+mdat) as ffmpeg wrote them: a view, not a copy. */
  payload: Uint8Array<ArrayBuffer>
}

/** A binary message split into its header and payload; null for a message too short or of an unknown kind. */
export function parsePacket(data: ArrayBuffer): Packet | null {
  if (data.byteLength <= HEADER_BYTES) return null
  const view = new DataView(data)
  const kind = PACKET_KINDS[view.getUint8(0)]
  const arrivedAt = view.getFloat64(1, false)
  if (!kind || !Number.isFinite(arrivedAt)) return null
  return { kind, arrivedAt, payload: new Uint8Array(data, HEADER_BYTES) }
}

/** What the next binary init segment is: announced in a text message just before it. */
export interface InitMessage {
  type: 'init'
  /** RFC 6381 codec string (`avc1.64001f`, `hvc1.1.6.L93.B0`). */
  codec: string
  /** The MIME type to test with MediaSource.isTypeSupported and to create the SourceBuffer with. */
  mime: string
  width: number
  height: number
  stream: StreamName
  mode: 'copy' | 'transcode'
  /** Gateway Date.now() when it sent this message: the clock offset the latency is corrected by. */
  serverTime: number
}

export type ControlMessage = InitMessage | { type: 'skip'; dropped: number } | { type: 'end'; reason: string }

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null
}

/** A text message of the wire protocol, checked field by field; null for anything else (ignored, never thrown on). */
export function parseControl(text: string): ControlMessage | null {
  let m: unknown
  try {
    m = JSON.parse(text)
  } catch {
    return null
  }
  if (!isObject(m)) return null
  if (m.type === 'skip') return { type: 'skip', dropped: typeof m.dropped === 'number' ? m.dropped : 0 }
  if (m.type === 'end') return { type: 'end', reason: typeof m.reason === 'string' ? m.reason : '' }
  if (m.type !== 'init') return null
  const { codec, mime, width, height, stream, mode, serverTime } = m
  if (typeof codec !== 'string' || !codec || typeof mime !== 'string' || !mime) return null
  if (stream !== 'main' && stream !== 'sub' && stream !== 'compat') return null
  if (mode !== 'copy' && mode !== 'transcode') return null
  return {
    type: 'init',
    codec,
    mime,
    width: typeof width === 'number' ? width : 0,
    height: typeof height === 'number' ? height : 0,
    stream,
    mode,
    serverTime: typeof serverTime === 'number' && Number.isFinite(serverTime) ? serverTime : Date.now(),
  }
}

export function mimeOf(codec: string): string {
  return `video/mp4; codecs="${codec}"`
}

// —— staying at the live edge ——

export interface Range {
  start: number
  end: number
}

/** Buffer ahead of the playhead the player aims for (seconds): small enough to be live, large enough not to starve. */
export const LIVE_TARGET_S = 0.4
/** Further behind than this, catching up by playing faster takes too long: seek to the live edge. */
export const FAR_BEHIND_S = 3
/** How much of the past stays buffered (seconds), so a short look back never needs the network. */
export const KEEP_BEHIND_S = 10
/** A playhead this close to the end of a range with more data after it is stuck at a gap. */
const AT_END_S = 0.15
/** A playhead this little before a range (rounding after a seek) counts as inside it. */
const BEFORE_START_S = 0.1

/**
 * Playback rate from the buffer ahead of the playhead: 1 near the target, 1.1 a little over it,
 * 1.25 a second or more over it. Never below 1 and never paused: a thin buffer waits for data by itself.
 */
export function playbackRateFor(aheadS: number, targetS = LIVE_TARGET_S): number {
  const excess = aheadS - targetS
  if (!(excess > 0.1)) return 1
  return excess < 1 ? 1.1 : 1.25
}

export interface Steer {
  /** Where to move the playhead, or null to leave it. */
  seekTo: number | null
  rate: number
}

/** The live edge minus the target, but never before the last range's start. */
function liveEdgeSeek(last: Range, targetS: number): number {
  return Math.max(last.start, last.end - targetS)
}

/**
 * What to do with the playhead at each tick. Outside every buffered range (a new MediaSource at 0,
 * a gap after the gateway skipped fragments, or stuck at a range's end with data after it) it jumps
 * to the next range's start, or to the live edge when that is far ahead; far behind the live edge it
 * seeks there; otherwise it plays at the rate playbackRateFor gives.
 */
export function steer(currentTime: number, ranges: readonly Range[], targetS = LIVE_TARGET_S, farBehindS = FAR_BEHIND_S): Steer {
  const last = ranges[ranges.length - 1]
  if (!last) return { seekTo: null, rate: 1 }
  const inside = ranges.findIndex((r) => currentTime >= r.start - BEFORE_START_S && currentTime <= r.end)
  const stuckAtEnd = inside >= 0 && inside < ranges.length - 1 && ranges[inside]!.end - currentTime < AT_END_S
  if (inside < 0 || stuckAtEnd) {
    const next = ranges.find((r) => r.start > currentTime)
    if (!next) return { seekTo: liveEdgeSeek(last, targetS), rate: 1 }
    if (next === last && last.end - next.start > farBehindS) return { seekTo: liveEdgeSeek(last, targetS), rate: 1 }
    return { seekTo: next.start, rate: 1 }
  }
  const ahead = last.end - currentTime
  if (ahead > farBehindS) return { seekTo: liveEdgeSeek(last, targetS), rate: 1 }
  return { seekTo: null, rate: playbackRateFor(ahead, targetS) }
}

/**
 * Where to cut the past (remove from 0 to it): keep KEEP_BEHIND_S behind the playhead, and cut only
 * once two more seconds piled up, so removes are batched rather than one per fragment.
 */
export function trimBefore(currentTime: number, ranges: readonly Range[], keepS = KEEP_BEHIND_S): number | null {
  const first = ranges[0]
  if (!first) return null
  const cut = currentTime - keepS
  return cut - first.start >= 2 ? cut : null
}

/** The SourceBuffer is full (QuotaExceededError): cut everything up to a second behind the playhead, if there is any. */
export function quotaTrim(currentTime: number, ranges: readonly Range[]): number | null {
  const first = ranges[0]
  if (!first) return null
  const cut = currentTime - 1
  return cut > first.start ? cut : null
}

// —— latency ——

/** A fragment appended: the media time its data now reaches, and when the gateway got its last byte. */
export interface ArrivalMark {
  mediaEnd: number
  arrivedAt: number
}

/**
 * The marks after one more fragment: in media order, trimmed to `max`. A fragment that does not
 * reach past the last mark (the timeline restarted) starts the list again.
 */
export function addMark(marks: readonly ArrivalMark[], mark: ArrivalMark, max = 300): ArrivalMark[] {
  const last = marks[marks.length - 1]
  if (last && mark.mediaEnd <= last.mediaEnd) return [mark]
  const next = [...marks, mark]
  return next.length > max ? next.slice(next.length - max) : next
}

/** Marks whose media is further behind the playhead than `keepS`: they can no longer be on screen. */
export function pruneMarks(marks: readonly ArrivalMark[], currentTime: number, keepS = KEEP_BEHIND_S + 2): ArrivalMark[] {
  const from = marks.findIndex((m) => m.mediaEnd >= currentTime - keepS)
  return from <= 0 ? [...marks] : marks.slice(from)
}

/**
 * When the frame at media time `t` reached the gateway (its clock): the fragment holding it
 * arrived at its mark, and media time runs with the wall clock, so a frame `d` seconds before
 * the fragment's end is dated `d` seconds before its arrival. Null when no fragment holds `t`.
 */
export function arrivalOf(marks: readonly ArrivalMark[], t: number): number | null {
  const m = marks.find((x) => x.mediaEnd >= t)
  if (!m) return null
  return m.arrivedAt - (m.mediaEnd - t) * 1000
}

/** Local minus gateway clock, from the init's serverTime and when it was received (includes the one-way delay, a few ms on a LAN). */
export function clockOffsetMs(serverTime: number, receivedAt: number): number {
  return receivedAt - serverTime
}

/**
 * The latency shown: now minus the gateway arrival time of the frame on screen, moved onto the
 * local clock. A small negative (jitter of the offset) reads as 0; nonsense (no mark, clock
 * jumps) as null.
 */
export function latencyFrom(now: number, arrivedAt: number | null, offsetMs: number): number | null {
  if (arrivedAt === null) return null
  const ms = now - (arrivedAt + offsetMs)
  if (!Number.isFinite(ms) || ms < -250 || ms > 600_000) return null
  return Math.max(0, Math.round(ms))
}

// —— the socket ——

/** Why the low-latency path gave up: the caller falls back to HLS (or reports it). */
export type LowLatencyFailure =
  | 'unsupported-codec'
  | 'no-mse'
  | 'ws-failed'
  | 'media-error'
  | 'forbidden'
  | 'no-session'
  | 'renew-failed'

export type ReconnectReason = 'token' | 'network' | 'stopped'

export type CloseAction =
  | { action: 'renew'; delayMs: number; reason: ReconnectReason }
  | { action: 'fail'; failure: LowLatencyFailure }

/** Reconnects in a row without a picture before the player gives up on the WebSocket. */
export const MAX_RECONNECTS = 6
/**
 * Sockets in a row that delivered nothing (a refused upgrade reads as 1006 in a browser; a proxy may
 * accept the upgrade and drop it) before HLS takes over.
 */
export const MAX_HANDSHAKE_FAILURES = 2

/** Back-off before the attempt-th reconnect in a row: 0.5 s, 1 s, 2 s … at most 15 s. */
export function reconnectDelayMs(attempt: number): number {
  return Math.min(15_000, 500 * 2 ** Math.max(0, attempt))
}

/**
 * What a closed socket means. 4401 (token expired or revoked): a fresh ticket at once. 4403 / 4404:
 * reported. 4410 (session stopped): a fresh ticket after a back-off, which starts the session again.
 * A socket that delivered no init (`delivered` false: a refused upgrade, no network, a proxy that
 * drops it): a fresh ticket once, then HLS. Anything else after the feed came (1006, 1011): a fresh
 * ticket after a back-off. Every renewal goes through the live API.
 */
export function onSocketClosed(o: { code: number; delivered: boolean; handshakeFailures: number; attempt: number }): CloseAction {
  if (o.code === 4403) return { action: 'fail', failure: 'forbidden' }
  if (o.code === 4404) return { action: 'fail', failure: 'no-session' }
  if (o.attempt >= MAX_RECONNECTS) return { action: 'fail', failure: 'ws-failed' }
  if (o.code === 4401) return { action: 'renew', delayMs: o.attempt === 0 ? 0 : reconnectDelayMs(o.attempt), reason: 'token' }
  if (o.code === 4410) return { action: 'renew', delayMs: reconnectDelayMs(o.attempt), reason: 'stopped' }
  if (!o.delivered && o.handshakeFailures + 1 >= MAX_HANDSHAKE_FAILURES) return { action: 'fail', failure: 'ws-failed' }
  return { action: 'renew', delayMs: reconnectDelayMs(o.attempt), reason: 'network' }
}

// —— which stream ——

/** One of the camera's streams as the live API lists it (from the registry's ONVIF profiles). */
export interface StreamOffer {
  stream: StreamName
  encoding: string | null
  width: number | null
  height: number | null
  fps: number | null
  gop: number | null
}

/** How the picture is shown: small wall tiles and phones are 'small'; the focused tile, full screen and the device page 'large'. */
export type ViewSize = 'small' | 'large'

/** A common H.265 Main profile string: tested before the camera's exact one (which is known only once an init was seen). */
export const HEVC_PROBE_MIME = 'video/mp4; codecs="hvc1.1.6.L120.90"'

/**
 * Whether footage recorded in `codec` plays here: H.264 everywhere MSE is; H.265 (recordings keep the
 * camera's codec) only where the browser decodes HEVC; unknown codecs are tried (hls.js then says what failed).
 */
export function footageDecodes(codec: 'h264' | 'hevc' | null, isTypeSupported: (mime: string) => boolean): boolean {
  return codec !== 'hevc' || isTypeSupported(HEVC_PROBE_MIME)
}

export type StreamWhy = 'small' | 'decodes' | 'undecodable' | 'transcode' | 'unknown'

export interface StreamPick {
  stream: StreamName
  /** Why: a small view, main decodes, main does not (so sub), neither (the gateway transcodes main), or nothing known. */
  why: StreamWhy
}

export function isHevc(encodingOrCodec: string | null): boolean {
  return !!encodingOrCodec && /^(h\.?265|hevc|hvc1|hev1)/i.test(encodingOrCodec)
}

function isH264(encoding: string): boolean {
  return /^(h\.?264|avc)/i.test(encoding)
}

/**
 * Whether the browser decodes the main stream: H.264 does (unless the exact string says not);
 * H.265 when the probe string and then the exact one pass; an unknown encoding is tried (the init
 * tells); anything else (MJPEG, MPEG-4) does not.
 */
export function mainDecodes(encoding: string | null, exactCodec: string | null, isTypeSupported: (mime: string) => boolean): boolean {
  if (isHevc(encoding) && !isTypeSupported(HEVC_PROBE_MIME)) return false
  if (exactCodec) return isTypeSupported(mimeOf(exactCodec))
  return encoding === null || isHevc(encoding) || isH264(encoding)
}

/**
 * Which stream to ask for: a small view takes the sub stream when the camera has one; a large one
 * the main stream when the browser decodes it, else the sub stream, else the compat stream (the
 * gateway transcodes the main stream to H.264, capped). With nothing known yet, main.
 */
export function chooseStream(o: {
  streams: readonly StreamOffer[]
  size: ViewSize
  isTypeSupported: (mime: string) => boolean
  /** The main stream's exact codec string, once known (a session's codecString or an init). */
  mainCodec?: string | null
}): StreamPick {
  const main = o.streams.find((s) => s.stream === 'main')
  const sub = o.streams.find((s) => s.stream === 'sub')
  if (!main) return sub ? { stream: 'sub', why: 'unknown' } : { stream: 'main', why: 'unknown' }
  if (o.size === 'small' && sub) return { stream: 'sub', why: 'small' }
  if (mainDecodes(main.encoding, o.mainCodec ?? null, o.isTypeSupported)) return { stream: 'main', why: 'decodes' }
  if (sub) return { stream: 'sub', why: 'undecodable' }
  return { stream: 'compat', why: 'transcode' }
}

/** 'H.264' / 'H.265' from a codec string or a session's codec; other codecs as given, upper-cased. */
export function codecLabel(codec: string | null | undefined): string | null {
  if (!codec) return null
  if (/^(avc[13]|h\.?264)/i.test(codec)) return 'H.264'
  if (isHevc(codec)) return 'H.265'
  return codec.split('.')[0]!.toUpperCase()
}
