// The patrol phone's state (巡逻终端): my units and duty, my unit's cue and pushed cameras, and the GPS
// sent while on duty. GET /api/patrol/me is the truth, loaded on start, on every (re)connection of the
// realtime channel, on a resync and when the browser comes back online; between loads the unit's topic
// `unit:<id>` brings cue.sent / cue.updated / camera.pushed / camera.unpushed (replayed after a reconnect).
import { computed, ref, shallowRef, watch } from 'vue'
import { defineStore } from 'pinia'
import { ApiError } from '../api/http.ts'
import {
  getPatrolMe, goOffDuty, goOnDuty, sendPositions, stepCue, uploadCuePhoto,
  type Cue, type CuePhoto, type Fix, type PatrolMe, type Push, type UnitCueStep,
} from '../api/patrol.ts'
import { GpsQueue, GPS_STORAGE_KEY, watchGps, type GpsQueueStatus } from '../components/patrol/gps-queue.ts'
import { applyCueChange, applyPushEvent, cueChange, isActiveCue, stepPosition, type CueChange } from '../components/patrol/patrol-model.ts'
import { useRealtimeStore, type RealtimeEvent } from './realtime.ts'
import { useSessionStore } from './session.ts'

/** Why the phone sends no GPS: the browser's geolocation error (1 denied, 2 unavailable, 3 timeout). */
export type GpsProblem = 'denied' | 'unavailable' | 'timeout' | null

export const usePatrolStore = defineStore('patrol', () => {
  const realtime = useRealtimeStore()
  const session = useSessionStore()

  const me = shallowRef<PatrolMe | null>(null)
  const loading = ref(false)
  const loadError = shallowRef<unknown>(null)
  const cue = shallowRef<Cue | null>(null)
  const pushes = shallowRef<Push[]>([])
  /** The last change an event brought (a new cue, one withdrawn), for the page to announce. */
  const lastChange = shallowRef<CueChange | null>(null)
  /** The action under way ('duty', 'step', …), null when idle. */
  const busy = ref<string | null>(null)
  const gps = ref<GpsQueueStatus>({ state: 'stopped', queued: 0, dropped: 0, lastSentAt: null, lastError: null, retryAt: null })
  const gpsProblem = ref<GpsProblem>(null)
  /** The phone's newest fix (the map's own position). */
  const position = shallowRef<Fix | null>(null)

  const duty = computed(() => me.value?.duty ?? null)
  const unitId = computed(() => duty.value?.unit.id ?? null)
  const units = computed(() => me.value?.units ?? [])

  let started = false
  let loadSeq = 0
  let unsubscribe: (() => void) | null = null
  let stopWatch: (() => void) | null = null
  let queue: GpsQueue | null = null
  let queueUser: string | null = null
  const stops: (() => void)[] = []

  // -------------------------------------------------------------------------------------------
  // Loading and realtime

  async function load(): Promise<void> {
    const mine = ++loadSeq
    loading.value = true
    try {
      const answer = await getPatrolMe()
      if (mine !== loadSeq) return
      me.value = answer
      loadError.value = null
      pushes.value = answer.pushes
      const shown = cue.value
      if (answer.cue) {
        const change = cueChange(shown, answer.cue, null)
        // a cue that came while the phone was away is announced like one that comes live
        if (change.kind !== 'same') lastChange.value = change
        cue.value = shown && shown.id === answer.cue.id && answer.cue.version < shown.version ? shown : answer.cue
      } else if (shown && isActiveCue(shown.status)) {
        // The cue ended while we were away (cancelled, reassigned, finished by an override).
        cue.value = null
      } else if (shown && shown.unitId !== answer.duty?.unit.id) {
        cue.value = null
      }
    } catch (err) {
      if (mine === loadSeq) loadError.value = err
    } finally {
      if (mine === loadSeq) loading.value = false
    }
  }

  function onEvent(event: RealtimeEvent): void {
    if (event.kind === 'resync') {
      void load()
      return
    }
    if (event.kind === 'cue.sent' || event.kind === 'cue.updated') {
      const incoming = event.payload.cue as Cue | undefined
      if (!incoming || typeof incoming.id !== 'string') return
      const change = cueChange(cue.value, incoming, unitId.value)
      if (change.kind === 'same') return
      cue.value = applyCueChange(cue.value, change)
      lastChange.value = change
      return
    }
    if (event.kind === 'camera.pushed' || event.kind === 'camera.unpushed') {
      pushes.value = applyPushEvent(pushes.value, event.kind, event.payload.push as Push | undefined)
    }
  }

  function follow(id: string | null): void {
    unsubscribe?.()
    unsubscribe = null
    if (id) unsubscribe = realtime.subscribe(`unit:${id}`, onEvent)
  }

  // -------------------------------------------------------------------------------------------
  // GPS

  function gpsQueue(): GpsQueue {
    const user = session.user?.id ?? 'anonymous'
    if (queue && queueUser === user) return queue
    queue?.stop()
    queueUser = user
    queue = new GpsQueue({
      send: sendPositions,
      storage: typeof localStorage === 'undefined' ? null : localStorage,
      storageKey: `${GPS_STORAGE_KEY}.${user}`,
      isOnline: () => typeof navigator === 'undefined' || navigator.onLine !== false,
      onChange: (s) => { gps.value = s },
      onStopped: () => {
        stopGps()
        // The server says we are off duty (another phone, an admin): show what it knows.
        void load()
      },
    })
    gps.value = queue.status()
    return queue
  }

  function startGps(): void {
    const q = gpsQueue()
    q.resume()
    if (stopWatch) return
    gpsProblem.value = null
    stopWatch = watchGps(
      typeof navigator === 'undefined' ? null : navigator.geolocation,
      (fix) => {
        position.value = fix
        gpsProblem.value = null
        q.add(fix)
      },
      (code) => {
        gpsProblem.value = code === 1 ? 'denied' : code === 3 ? 'timeout' : 'unavailable'
      },
    )
  }

  function stopGps(): void {
    stopWatch?.()
    stopWatch = null
    queue?.stop()
  }

  function onOnline(): void {
    queue?.online()
    void load()
  }

  // -------------------------------------------------------------------------------------------
  // Life cycle

  /** Start the phone: load, listen to the unit's topic, send GPS while on duty. Once; stop() undoes it. */
  function start(): void {
    if (started) return
    started = true
    realtime.start()
    void load()
    stops.push(watch(unitId, (id) => {
      follow(id)
      if (id) startGps()
      else stopGps()
    }, { immediate: true }))
    // Every (re)connection: what the replay may not cover (a first subscription, a resync of another topic).
    stops.push(watch(() => realtime.state, (state, before) => {
      if (state === 'open' && before !== 'open') void load()
    }))
    stops.push(watch(() => session.user, (user) => { if (!user) stop() }))
    window.addEventListener('online', onOnline)
    stops.push(() => window.removeEventListener('online', onOnline))
  }

  function stop(): void {
    if (!started) return
    started = false
    for (const s of stops.splice(0)) s()
    follow(null)
    stopGps()
  }

  // -------------------------------------------------------------------------------------------
  // Actions (each throws the ApiError for the page to word)

  async function run<T>(what: string, fn: () => Promise<T>): Promise<T> {
    if (busy.value) throw new Error(`busy with ${busy.value}`)
    busy.value = what
    try {
      return await fn()
    } finally {
      busy.value = null
    }
  }

  async function startDuty(unitIdToJoin: string): Promise<void> {
    await run('duty', async () => {
      await goOnDuty(unitIdToJoin)
      await load()
    })
  }

  async function endDuty(): Promise<void> {
    await run('duty', async () => {
      // what was queued while on duty goes out before the server stops taking it
      await queue?.flush()
      await goOffDuty()
      stopGps()
      // what could not go out is lost: the server takes no fixes from an off-duty unit
      queue?.stop(true)
      cue.value = null
      await load()
    })
  }

  /** Take the next step of the shown cue (with the phone's position when it is fresh). */
  async function step(status: UnitCueStep, report?: string): Promise<Cue> {
    const current = cue.value
    if (!current) throw new Error('no cue')
    return run('step', async () => {
      try {
        const next = await stepCue(current.id, {
          status, version: current.version, ...(report !== undefined ? { report } : {}), ...stepPosition(position.value, Date.now()),
        })
        if (cue.value?.id === next.id && next.version >= (cue.value?.version ?? 0)) cue.value = next
        return next
      } catch (err) {
        // refused because the cue moved meanwhile (a monitor forced a step, it was cancelled): show the truth
        if (err instanceof ApiError && (err.status === 409 || err.status === 403 || err.status === 404)) void load()
        throw err
      }
    })
  }

  /** Upload one report photo to the shown cue; the cue lists it after the next change. */
  async function addPhoto(file: Blob, name: string): Promise<CuePhoto> {
    const current = cue.value
    if (!current) throw new Error('no cue')
    const photo = await uploadCuePhoto(current.id, file, name)
    if (cue.value?.id === current.id && !cue.value.photos.some((p) => p.id === photo.id)) {
      cue.value = { ...cue.value, photos: [...cue.value.photos, photo] }
    }
    return photo
  }

  /** Put away a cue that has ended (done, cancelled, reassigned). */
  function dismissCue(): void {
    if (cue.value && !isActiveCue(cue.value.status)) cue.value = null
    lastChange.value = null
  }

  return {
    me, loading, loadError, cue, pushes, lastChange, busy, gps, gpsProblem, position, duty, unitId, units,
    load, start, stop, startDuty, endDuty, step, addPhoto, dismissCue,
  }
})
