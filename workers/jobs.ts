/**
 * Every queue's name and payload: the one contract producers and workers import.
 * Later issues add snapshot, face, export and retention here.
 */
export const QUEUES = {
  maintenance: 'maintenance',
} as const;

export interface JobTypes {
  maintenance: {
    /** Delete sessions past their expiry. Idempotent: a second run deletes nothing. */
    'sessions.purge': { payload: Record<string, never>; result: { deleted: number } };
  };
}

export type QueueName = keyof typeof QUEUES;
export type JobName<Q extends QueueName> = keyof JobTypes[Q] & string;

/** BullMQ's key prefix for one deployment (Redis keys and queue names never collide across runs). */
export function bullPrefix(redisPrefix: string): string {
  return `${redisPrefix}bull`;
}
