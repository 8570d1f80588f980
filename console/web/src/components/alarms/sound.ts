// The alarm sound: a short beep made with WebAudio (no audio file), louder and doubled for a
// critical alarm. Browsers let a page make sound only after the user touched it, so the audio
// context is created on the first pointer or key press. The mute is kept per browser.
import { ref } from 'vue'
import type { AlarmSeverity } from '../../api/alarms.ts'

const MUTE_KEY = 'skynet.alarms.muted'

function storedMute(): boolean {
  try {
    return localStorage.getItem(MUTE_KEY) === '1'
  } catch {
    return false
  }
}

/** Shared by every bell and page of the tab. */
export const muted = ref(storedMute())

export function setMuted(value: boolean): void {
  muted.value = value
  try {
    localStorage.setItem(MUTE_KEY, value ? '1' : '0')
  } catch {
    // private mode: the choice lasts this page only
  }
}

type AudioCtor = typeof AudioContext
let context: AudioContext | null = null
let unlockInstalled = false

function audioCtor(): AudioCtor | null {
  const w = window as unknown as { AudioContext?: AudioCtor; webkitAudioContext?: AudioCtor }
  return w.AudioContext ?? w.webkitAudioContext ?? null
}

/** Create (or resume) the audio context on the user's first gesture. */
export function installAudioUnlock(): void {
  if (unlockInstalled || typeof window === 'undefined') return
  unlockInstalled = true
  const unlock = () => {
    const Ctor = audioCtor()
    if (!Ctor) return
    try {
      context ??= new Ctor()
      if (context.state === 'suspended') void context.resume()
    } catch {
      // no audio device: alarms stay silent, the panel still shows them
    }
  }
  window.addEventListener('pointerdown', unlock, { capture: true })
  window.addEventListener('keydown', unlock, { capture: true })
}

/** Counts beeps played (tests read it through window.__skynetAlarmBeeps). */
let played = 0

/** A burst of alarms (a switch dies: hundreds of cameras at once) beeps at most this often. */
const MIN_GAP_MS = 1500
let lastBeep = 0

/** One beep for an alarm of this severity, unless muted, just beeped, or the page may not play sound yet. */
export function beep(severity: AlarmSeverity): boolean {
  if (muted.value) return false
  const now = Date.now()
  if (now - lastBeep < MIN_GAP_MS) return false
  lastBeep = now
  played++
  ;(window as unknown as { __skynetAlarmBeeps?: number }).__skynetAlarmBeeps = played
  const ctx = context
  if (!ctx || ctx.state !== 'running') return false
  const tones = severity === 'critical' ? [0, 0.28] : [0]
  const freq = severity === 'info' ? 660 : 880
  for (const start of tones) {
    const osc = ctx.createOscillator()
    const gain = ctx.createGain()
    osc.type = 'square'
    osc.frequency.value = freq
    const t = ctx.currentTime + start
    gain.gain.setValueAtTime(0.0001, t)
    gain.gain.exponentialRampToValueAtTime(severity === 'critical' ? 0.25 : 0.12, t + 0.02)
    gain.gain.exponentialRampToValueAtTime(0.0001, t + 0.22)
    osc.connect(gain).connect(ctx.destination)
    osc.start(t)
    osc.stop(t + 0.24)
  }
  return true
}
