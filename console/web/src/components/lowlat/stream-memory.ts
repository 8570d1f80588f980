// What this page learned about each camera's streams from the live API (its streams, the exact
// codec strings seen), so that the next start asks for the right stream at once, and the choice
// of stream for a view (chooseStream in lowlat-model.ts) with this browser's decoders.
import type { LiveTicket } from '../../api/media.ts'
import { chooseStream, type StreamName, type StreamOffer, type StreamPick, type ViewSize } from './lowlat-model.ts'

interface Known {
  streams: StreamOffer[]
  /** Exact codec strings per stream: from a session's codecString or a low-latency init. */
  codecs: Partial<Record<StreamName, string>>
}

const known = new Map<string, Known>()

/** What MSE decodes here; false where there is no MSE (native HLS on old iOS: H.264 only). */
export function browserDecodes(mime: string): boolean {
  return typeof MediaSource !== 'undefined' && MediaSource.isTypeSupported(mime)
}

/** Keep what a ticket says: the camera's streams and the codec string of the session it is for. */
export function learnTicket(deviceId: string, ticket: LiveTicket): void {
  const k = known.get(deviceId) ?? { streams: [], codecs: {} }
  if (ticket.streams?.length) k.streams = ticket.streams
  const s = ticket.session
  if (s?.codecString && s.stream) k.codecs[s.stream] = s.codecString
  known.set(deviceId, k)
}

/** Keep the codec string an init announced (the browser may have refused it). */
export function learnCodec(deviceId: string, stream: StreamName, codec: string): void {
  const k = known.get(deviceId) ?? { streams: [], codecs: {} }
  k.codecs[stream] = codec
  known.set(deviceId, k)
}

/** The stream for this view of the camera; null while nothing is known of its streams. */
export function pickStream(deviceId: string, size: ViewSize, isTypeSupported: (mime: string) => boolean = browserDecodes): StreamPick | null {
  const k = known.get(deviceId)
  if (!k || k.streams.length === 0) return null
  return chooseStream({ streams: k.streams, size, isTypeSupported, mainCodec: k.codecs.main ?? null })
}
