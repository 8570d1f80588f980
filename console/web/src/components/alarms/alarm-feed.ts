// The tab's live view of open alarms, shared by the header bell and the alarms page: loaded once,
// kept current from the realtime channel's `alarms` topic (reloaded on resync and after a
// reconnect), with a beep for each new alarm.
import { ref, watch } from 'vue'
import { alarmSummary, listAlarms, type Alarm, type AlarmSummary } from '../../api/alarms.ts'
import { useRealtimeStore, type RealtimeEvent } from '../../stores/realtime.ts'
import { alarmOf, applyToOpen, PANEL_SIZE } from './alarm-model.ts'
import { beep, installAudioUnlock } from './sound.ts'

export const openAlarms = ref<Alarm[]>([])
export const summary = ref<AlarmSummary>({ open: 0, critical: 0 })
export const loaded = ref(false)
/** Set on each new alarm (the bell flashes while it is recent). */
export const lastRaisedAt = ref(0)

type Listener = (kind: 'raised' | 'updated' | 'resync', alarm: Alarm | null) => void
const listeners = new Set<Listener>()

let users = 0
let unsubscribe: (() => void) | null = null
let stopWatch: (() => void) | null = null
let summaryTimer: number | undefined
let loading: Promise<void> | null = null
/** The newest event applied: a reload answered after it must not undo it (the event is newer). */
let generation = 0

export function reload(): Promise<void> {
  if (loading) return loading
  const started = generation
  loading = Promise.all([listAlarms({ state: 'open', limit: PANEL_SIZE }), alarmSummary()])
    .then(([items, counts]) => {
      if (generation === started) {
        openAlarms.value = items
        summary.value = counts
      } else {
        // Events came while loading: keep them, then count again.
        let merged = items
        for (const a of openAlarms.value) merged = applyToOpen(merged, a)
        openAlarms.value = merged
        refreshSummarySoon()
      }
      loaded.value = true
    })
    .catch(() => {
      // The panel keeps what it had; the next event or reconnect loads again.
    })
    .finally(() => {
      loading = null
    })
  return loading
}

function refreshSummarySoon(): void {
  window.clearTimeout(summaryTimer)
  summaryTimer = window.setTimeout(() => {
    alarmSummary().then((s) => (summary.value = s)).catch(() => {})
  }, 250)
}

/**
 * An alarm this tab changed (acknowledged, linked): the open list and counts follow at once; the
 * realtime echo of the same change then finds it gone and counts nothing twice.
 */
export function markChanged(alarm: Alarm): void {
  generation++
  const wasOpen = openAlarms.value.some((a) => a.id === alarm.id)
  openAlarms.value = applyToOpen(openAlarms.value, alarm)
  if (wasOpen && alarm.ackedAt) {
    summary.value = { open: Math.max(0, summary.value.open - 1), critical: Math.max(0, summary.value.critical - (alarm.severity === 'critical' ? 1 : 0)) }
  }
  refreshSummarySoon()
}

function onEvent(event: RealtimeEvent): void {
  if (event.kind === 'resync' || event.kind === 'resynced') {
    void reload()
    for (const l of listeners) l('resync', null)
    return
  }
  const alarm = alarmOf(event.payload)
  if (!alarm) return
  generation++
  const wasOpen = openAlarms.value.some((a) => a.id === alarm.id)
  openAlarms.value = applyToOpen(openAlarms.value, alarm)
  if (event.kind === 'alarm.raised') {
    if (!alarm.ackedAt) {
      summary.value = { open: summary.value.open + 1, critical: summary.value.critical + (alarm.severity === 'critical' ? 1 : 0) }
      lastRaisedAt.value = Date.now()
      beep(alarm.severity)
    }
    for (const l of listeners) l('raised', alarm)
  } else {
    if (wasOpen && alarm.ackedAt) {
      summary.value = { open: Math.max(0, summary.value.open - 1), critical: Math.max(0, summary.value.critical - (alarm.severity === 'critical' ? 1 : 0)) }
    }
    for (const l of listeners) l('updated', alarm)
  }
  // The exact counts (alarms acknowledged elsewhere, beyond the panel's 50) follow shortly.
  refreshSummarySoon()
}

/** Start following (the first user subscribes); returns the stop function for this user. */
export function useAlarmFeed(listener?: Listener): () => void {
  if (listener) listeners.add(listener)
  if (users++ === 0) {
    installAudioUnlock()
    const realtime = useRealtimeStore()
    realtime.start()
    unsubscribe = realtime.subscribe('alarms', onEvent)
    // Back after a lost connection: what was missed may be more than the replay holds.
    stopWatch = watch(() => realtime.state, (state, previous) => {
      if (state === 'open' && previous && previous !== 'open' && loaded.value) void reload()
    })
    void reload()
  }
  return () => {
    if (listener) listeners.delete(listener)
    if (--users === 0) {
      unsubscribe?.()
      stopWatch?.()
      unsubscribe = null
      stopWatch = null
    }
  }
}
