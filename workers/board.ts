import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { FastifyAdapter } from '@bull-board/fastify';
import type { App } from '../core/http/app.ts';
import { QUEUE_NAMES, type JobProducer } from './jobs.ts';

export const BOARD_PATH = '/admin/queues';

/**
 * Bull Board (the queue dashboard) at /admin/queues in the console. Its pages and API are
 * registered by the library; the identity guard gives every route under the prefix admin
 * access (console/server/main.ts), behind the same session and cross-site checks as ours.
 */
export async function registerQueueBoard(app: App, jobs: JobProducer): Promise<void> {
  const serverAdapter = new FastifyAdapter();
  serverAdapter.setBasePath(BOARD_PATH);
  createBullBoard({
    queues: QUEUE_NAMES.map((name) => new BullMQAdapter(jobs.queue(name))),
    serverAdapter,
    options: { uiConfig: { boardTitle: 'Skynet 任务队列' } },
  });
  await app.register(serverAdapter.registerPlugin() as Parameters<App['register']>[0], { prefix: BOARD_PATH });
}
