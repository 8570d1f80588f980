// PLACEHOLDER (issue 9): the realtime client (one WebSocket to /api/events per tab) is being written.
// The exported names and signatures below are the contract the pages build against.
import { ref } from 'vue'
import { defineStore } from 'pinia'

export interface RealtimeEvent {
  id: number
  at: string
  topic: string
  kind: string
  payload: Record<string, unknown>
}

export type RealtimeState = 'idle' | 'connecting' | 'open' | 'reconnecting'

export const useRealtimeStore = defineStore('realtime', () => {
  const state = ref<RealtimeState>('idle')
  /** Connect (once per tab; later calls do nothing). Reconnects with back-off and replays what it missed. */
  function start(): void {}
  /** Close the socket (logout). */
  function stop(): void {}
  /**
   * Hear a topic's events ('alarms', 'devices', 'incidents', 'incident:<id>'): subscribes on the server
   * while at least one handler wants the topic. Returns the unsubscribe function (call it on unmount).
   */
  function subscribe(_topic: string, _handler: (event: RealtimeEvent) => void): () => void {
    return () => {}
  }
  return { state, start, stop, subscribe }
})
