/** One closed recording segment as indexed in `recording_segments`. */
export interface RecordingSegment {
  id: number;
  deviceId: string;
  startsAt: Date;
  endsAt: Date;
  /** Relative to the media root: rec/<deviceId>/<YYYYMMDD>/<YYYYMMDDTHHMMSSZ>.ts */
  path: string;
  bytes: number;
  nodeId: string | null;
}

export interface NewSegment {
  deviceId: string;
  startsAt: Date;
  endsAt: Date;
  path: string;
  bytes: number;
}

/** Anything with a start and an end: segments, or coverage already merged by SQL. */
export interface Span {
  startsAt: Date;
  endsAt: Date;
}

export interface TimelineRange {
  from: Date;
  to: Date;
  kind: 'footage' | 'missing';
}

/** One local day of one camera: where footage exists and where it is missing. */
export interface DayTimeline {
  day: string;
  timezone: string;
  from: Date;
  to: Date;
  ranges: TimelineRange[];
}

/** What the indexer reports for health: background work records when it last ran. */
export interface IndexerStatus {
  running: boolean;
  /** When a pass last completed (with or without new segments). */
  lastRunAt: Date | null;
  /** When a segment was last added to the index. */
  lastIndexedAt: Date | null;
  /** When the last full re-index (every day directory) completed. */
  lastFullScanAt: Date | null;
  lastError: string | null;
  /** Segment lists still followed (sessions that may append). */
  following: number;
  /** Segments added since start. */
  indexed: number;
}
