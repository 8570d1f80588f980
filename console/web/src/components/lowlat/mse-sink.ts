// One MediaSource with one SourceBuffer on a <video>: the init segment and the fragments go in
// through a queue (one operation at a time, never while the buffer is updating), the past is
// trimmed behind the playhead, a full buffer (QuotaExceededError) is trimmed and the append
// retried, and each tick steers the playhead: the playback rate near the live edge, a jump over a
// gap, a seek when far behind. What to do comes from lowlat-model.ts; this file only applies it.
import {
  addMark,
  arrivalOf,
  latencyFrom,
  pruneMarks,
  quotaTrim,
  steer,
  trimBefore,
  type ArrivalMark,
  type Range,
} from './lowlat-model.ts'

type Op =
  | { kind: 'append'; data: Uint8Array<ArrayBuffer>; arrivedAt: number | null; keyframe: boolean }
  | { kind: 'remove'; end: number }

/** Queued bytes past which fragments are dropped until the next keyframe (a tab that cannot keep up). */
const MAX_QUEUED_BYTES = 8 * 1024 * 1024

export function rangesOf(buffered: TimeRanges): Range[] {
  const out: Range[] = []
  for (let i = 0; i < buffered.length; i++) out.push({ start: buffered.start(i), end: buffered.end(i) })
  return out
}

export class MseSink {
  private readonly ms = new MediaSource()
  private readonly url: string
  private sb: SourceBuffer | null = null
  private queue: Op[] = []
  private queuedBytes = 0
  private current: Op | null = null
  private marks: ArrivalMark[] = []
  /** Fragments are dropped until a keyframe fragment (the buffer overflowed, or the queue did). */
  private awaitKeyframe = false
  private closed = false

  constructor(
    private readonly video: HTMLVideoElement,
    private readonly mime: string,
    private readonly onError: (detail: string) => void,
  ) {
    this.url = URL.createObjectURL(this.ms)
    this.ms.addEventListener('sourceopen', this.onSourceOpen, { once: true })
    video.src = this.url
  }

  /** The init segment: first in the queue of a new sink. */
  appendInit(data: Uint8Array<ArrayBuffer>): void {
    this.enqueue({ kind: 'append', data, arrivedAt: null, keyframe: true })
  }

  appendFragment(data: Uint8Array<ArrayBuffer>, arrivedAt: number, keyframe: boolean): void {
    if (this.awaitKeyframe && !keyframe) return
    this.awaitKeyframe = false
    if (this.queuedBytes + data.byteLength > MAX_QUEUED_BYTES) {
      this.dropUntilKeyframe()
      if (!keyframe) return
    }
    this.enqueue({ kind: 'append', data, arrivedAt, keyframe })
  }

  /** Whether any media is buffered (the first picture can show). */
  hasMedia(): boolean {
    return !!this.sb && this.sb.buffered.length > 0
  }

  /** One tick: steer the playhead and trim the past. */
  tick(): void {
    const sb = this.sb
    if (!sb || this.closed) return
    const v = this.video
    const ranges = rangesOf(sb.buffered)
    if (!v.seeking) {
      const { seekTo, rate } = steer(v.currentTime, ranges)
      if (seekTo !== null && Math.abs(seekTo - v.currentTime) > 0.01) v.currentTime = seekTo
      if (v.playbackRate !== rate) v.playbackRate = rate
    }
    const cut = trimBefore(v.currentTime, ranges)
    if (cut !== null && !this.queue.some((op) => op.kind === 'remove')) this.enqueue({ kind: 'remove', end: cut })
    this.marks = pruneMarks(this.marks, v.currentTime)
  }

  /** Latency of the frame on screen (ms), on the local clock; null before a fragment played. */
  latencyMs(now: number, offsetMs: number): number | null {
    if (!this.sb) return null
    return latencyFrom(now, arrivalOf(this.marks, this.video.currentTime), offsetMs)
  }

  destroy(): void {
    if (this.closed) return
    this.closed = true
    this.queue = []
    this.ms.removeEventListener('sourceopen', this.onSourceOpen)
    const sb = this.sb
    if (sb) {
      sb.removeEventListener('updateend', this.onUpdateEnd)
      sb.removeEventListener('error', this.onSbError)
      try {
        if (this.ms.readyState === 'open') sb.abort()
      } catch {
        // already detached
      }
    }
    this.sb = null
    URL.revokeObjectURL(this.url)
    if (this.video.getAttribute('src') === this.url) {
      this.video.removeAttribute('src')
      this.video.load()
    }
  }

  private readonly onSourceOpen = (): void => {
    if (this.closed) return
    try {
      const sb = this.ms.addSourceBuffer(this.mime)
      sb.mode = 'segments'
      sb.addEventListener('updateend', this.onUpdateEnd)
      sb.addEventListener('error', this.onSbError)
      this.sb = sb
    } catch (err) {
      this.onError(err instanceof Error ? err.message : String(err))
      return
    }
    this.pump()
  }

  private readonly onUpdateEnd = (): void => {
    const done = this.current
    this.current = null
    const sb = this.sb
    if (done?.kind === 'append' && done.arrivedAt !== null && sb && sb.buffered.length > 0) {
      this.marks = addMark(this.marks, { mediaEnd: sb.buffered.end(sb.buffered.length - 1), arrivedAt: done.arrivedAt })
    }
    this.pump()
  }

  private readonly onSbError = (): void => {
    if (!this.closed) this.onError('SourceBuffer error')
  }

  private enqueue(op: Op): void {
    if (this.closed) return
    this.queue.push(op)
    if (op.kind === 'append') this.queuedBytes += op.data.byteLength
    this.pump()
  }

  private shift(): Op | undefined {
    const op = this.queue.shift()
    if (op?.kind === 'append') this.queuedBytes -= op.data.byteLength
    return op
  }

  /** Forget queued fragments; the next keyframe fragment starts again (the decoder needs one). */
  private dropUntilKeyframe(): void {
    this.queue = this.queue.filter((op) => op.kind !== 'append' || op.arrivedAt === null)
    this.queuedBytes = this.queue.reduce((n, op) => n + (op.kind === 'append' ? op.data.byteLength : 0), 0)
    this.awaitKeyframe = true
  }

  private pump(): void {
    const sb = this.sb
    if (!sb || this.closed || sb.updating || this.current || this.ms.readyState !== 'open') return
    const op = this.shift()
    if (!op) return
    this.current = op
    try {
      if (op.kind === 'remove') sb.remove(0, op.end)
      else sb.appendBuffer(op.data)
    } catch (err) {
      this.current = null
      if (op.kind === 'append' && err instanceof DOMException && err.name === 'QuotaExceededError') {
        this.onQuota(op)
        return
      }
      if (op.kind === 'remove') {
        this.pump()
        return
      }
      this.onError(err instanceof Error ? err.message : String(err))
    }
  }

  /** Full: cut the past and try the same append again; with no past to cut, skip to the next keyframe. */
  private onQuota(op: Op & { kind: 'append' }): void {
    const sb = this.sb!
    const cut = quotaTrim(this.video.currentTime, rangesOf(sb.buffered))
    if (cut === null) {
      this.dropUntilKeyframe()
      return
    }
    this.queue.unshift({ kind: 'remove', end: cut }, op)
    this.queuedBytes += op.data.byteLength
    this.pump()
  }
}
