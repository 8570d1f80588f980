import { createRequire } from 'node:module';

/** `ws` (the server side's own library, through @fastify/websocket): Node 20 has no WebSocket client. */
export interface WsClient { close(): void; on(event: string, listener: (...args: any[]) => void): void }
export const WebSocket = createRequire(import.meta.url)('ws') as new (url: string) => WsClient;
