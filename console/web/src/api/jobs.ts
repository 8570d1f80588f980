// The job platform as admins see it: runs of scheduled jobs, one job's state, and retention.
import { http, seg } from './http.ts'

export type RunStatus = 'running' | 'ok' | 'failed'

export interface JobRun {
  id: number
  queue: string
  name: string
  jobId: string | null
  startedAt: string
  finishedAt: string | null
  status: RunStatus
  result: Record<string, unknown> | null
  error: string | null
}

export interface JobState {
  id: string
  queue: string
  name: string
  /** BullMQ's: waiting, active, delayed, completed, failed, … */
  state: string
  progress: unknown
  attemptsMade: number
  result: unknown
  failedReason: string | null
  createdAt: string
  processedAt: string | null
  finishedAt: string | null
}

export interface StoreReport {
  files: number
  bytes: number
}

/** What one retention run did (workers/jobs.ts RetentionResult). */
export interface RetentionResult {
  trigger: 'schedule' | 'manual'
  expired: { segments: StoreReport; snapshots: StoreReport; exports: StoreReport }
  highWater: { nodeId: string; usedPercentBefore: number; usedPercentAfter: number; segments: StoreReport; stillAbove: boolean }[]
  repaired: number
  keptHeld: number
  deferred: number
  oldest: { deviceId: string; oldestAt: string }[]
  durationMs: number
}

export interface NodeDisk {
  totalBytes: number
  usedBytes: number
  freeBytes: number
  usedPercent: number
}

export interface RetentionOverview {
  config: {
    highWaterPercent: number
    lowWaterPercent: number
    intervalMinutes: number
    exportRetentionDays: number
    defaultRetentionDays: number
    batchSize: number
  }
  nodes: { nodeId: string; disk: NodeDisk | null; error: string | null }[]
  holds: { active: number }
  purgeQueue: number
  lastRun: (Partial<JobRun> & Record<string, unknown>) | null
}

export async function listJobRuns(query: { name?: string; limit?: number } = {}, signal?: AbortSignal): Promise<JobRun[]> {
  return (await http.get<{ items: JobRun[] }>('/admin/job-runs', { query: { ...query }, signal })).items
}

export function getJob(queue: string, id: string, signal?: AbortSignal): Promise<JobState> {
  return http.get<JobState>(`/jobs/${seg(queue)}/${seg(id)}`, { signal })
}

export function getRetention(signal?: AbortSignal): Promise<RetentionOverview> {
  return http.get<RetentionOverview>('/admin/retention', { signal })
}

/** Queue a retention run now; follow it with getJob(queue, id). */
export function runRetention(): Promise<{ queue: string; id: string }> {
  return http.post<{ queue: string; id: string }>('/admin/retention/run', {})
}

/** Bull Board, the queue dashboard (admins), served by the console. */
export const QUEUE_BOARD_PATH = '/admin/queues'
