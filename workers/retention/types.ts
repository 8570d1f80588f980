import type { DiskUse } from '../../gateway/recordings/media-files.ts';
import type { Result } from '../jobs.ts';

/** What one retention run did (the job's result, RetentionResult in workers/jobs.ts). */
export type RetentionReport = Result<'retention', 'retention.run'>;

/** One file in the purge queue (media_purges): its index row is gone already. */
export interface PurgeRow {
  id: number;
  /** media: a gateway node's media directory (nodeId names it; '' when the segment named none); evidence: the evidence store. */
  store: 'media' | 'evidence';
  nodeId: string;
  path: string;
  bytes: number;
}

/** One batch that left its index table and entered the purge queue. */
export interface Batch {
  /** Index rows taken. */
  taken: number;
  bytes: number;
  queued: PurgeRow[];
}

/** A live gateway node's media disk as the admin page shows it: the measurement, or why there is none. */
export interface NodeDisk { nodeId: string; disk: DiskUse | null; error: string | null }
