// Press-and-hold PTZ control as plain functions (STYLE.md §7), so the sequencing is tested without a
// browser: which pad buttons are held by which input (a mouse or touch pointer, the keyboard), the
// velocity they make together, the one command each press or release sends, a sender that keeps
// commands in order and never lets a stale one run after a newer one, and the readout's polling
// after a move or a preset until the camera has settled. PtzPad.vue and PtzPanel.vue only wire these.
import type { PtzStatus, PtzVelocity } from '../api/ptz.ts'

export type PtzDirection = 'up' | 'down' | 'left' | 'right' | 'zoom-in' | 'zoom-out'

/** The axis a direction drives and its sign (ONVIF generic spaces: tilt up is positive, zoom in positive). */
const AXES: Record<PtzDirection, { axis: keyof PtzVelocity; sign: 1 | -1 }> = {
  up: { axis: 'tilt', sign: 1 },
  down: { axis: 'tilt', sign: -1 },
  left: { axis: 'pan', sign: -1 },
  right: { axis: 'pan', sign: 1 },
  'zoom-in': { axis: 'zoom', sign: 1 },
  'zoom-out': { axis: 'zoom', sign: -1 },
}

/** What is held on the pad and what was last sent for it. */
export interface PadState {
  /** Held buttons, oldest first, each with the input holding it: `pointer:<pointerId>` or `key:<direction>`. */
  held: { source: string; dir: PtzDirection }[]
  /** The velocity last sent; null when stopped (or nothing sent yet). */
  sent: PtzVelocity | null
}

export type PadAction =
  /** An input pressed a button (a pointer went down on it, Enter/Space went down while it had focus). */
  | { type: 'press'; source: string; dir: PtzDirection }
  /** An input let go (pointer up, cancelled or out of the button; key up; the button lost focus). */
  | { type: 'release'; source: string }
  /** The stop button: everything let go and a stop sent, whatever was held. */
  | { type: 'stop' }
  /** The pad is disabled or goes away: everything let go, a stop sent only if a move was. */
  | { type: 'release-all' }

export type PtzCommand = { type: 'move'; velocity: PtzVelocity } | { type: 'stop' }

export interface PadStep {
  state: PadState
  /** What to send now; null when the camera already does what the pad asks. */
  command: PtzCommand | null
}

export function initialPad(): PadState {
  return { held: [], sent: null }
}

const round = (n: number) => Math.round(n * 100) / 100

/**
 * The velocity of everything held: per axis, the direction pressed last wins (left then up is a
 * diagonal; left then right turns right). `speed` is clamped to 0.05–1. Null when nothing is held.
 */
export function padVelocity(held: PadState['held'], speed: number): PtzVelocity | null {
  if (held.length === 0) return null
  const s = Math.min(1, Math.max(0.05, Number.isFinite(speed) ? speed : 0.5))
  const v: PtzVelocity = { pan: 0, tilt: 0, zoom: 0 }
  for (const { dir } of held) {
    const { axis, sign } = AXES[dir]
    v[axis] = round(sign * s)
  }
  return v
}

const sameVelocity = (a: PtzVelocity | null, b: PtzVelocity | null) =>
  a === b || (a !== null && b !== null && a.pan === b.pan && a.tilt === b.tilt && a.zoom === b.zoom)

/** The command that takes the camera from what was sent to what is held: a move, a stop, or nothing. */
function settle(held: PadState['held'], sent: PtzVelocity | null, speed: number): PadStep {
  const want = padVelocity(held, speed)
  if (sameVelocity(want, sent)) return { state: { held, sent }, command: null }
  return { state: { held, sent: want }, command: want ? { type: 'move', velocity: want } : { type: 'stop' } }
}

/**
 * One press or release. Letting go of one button while another is still held moves on with what
 * is held (never a stop under a held button); only letting go of the last one stops. A release
 * by an input that holds nothing (a button losing focus after the pointer moved on) sends nothing.
 */
export function padStep(state: PadState, action: PadAction, speed: number): PadStep {
  if (action.type === 'stop') return { state: initialPad(), command: { type: 'stop' } }
  if (action.type === 'release-all') return settle([], state.sent, speed)
  if (action.type === 'press') {
    const mine = state.held.find((h) => h.source === action.source)
    if (mine?.dir === action.dir) return { state, command: null } // key repeat, a second pointerdown
    const held = [...state.held.filter((h) => h.source !== action.source), { source: action.source, dir: action.dir }]
    return settle(held, state.sent, speed)
  }
  if (!state.held.some((h) => h.source === action.source)) return { state, command: null }
  return settle(state.held.filter((h) => h.source !== action.source), state.sent, speed)
}

// ---------------------------------------------------------------------------------------------------
// Sending

export interface CommandSender {
  /** Send this next: after the command in flight; a command still waiting is replaced (the newest wish wins). */
  push(command: PtzCommand): void
  /** Resolves when nothing is in flight or waiting. */
  idle(): Promise<void>
}

/**
 * Sends PTZ commands one at a time, in order: a command is sent only after the one before it has
 * been answered, so a stop can never overtake its move, and a command that waits is dropped when a
 * newer one comes (move left, then move left+up, then stop while the first is in flight: the camera
 * gets move left, then stop). A failed send is reported and the next one still goes.
 */
export function createCommandSender(send: (command: PtzCommand) => Promise<void>, onError: (err: unknown) => void): CommandSender {
  let waiting: PtzCommand | null = null
  let running: Promise<void> | null = null

  async function pump(): Promise<void> {
    while (waiting) {
      const next = waiting
      waiting = null
      try {
        await send(next)
      } catch (err) {
        onError(err)
      }
    }
    running = null
  }

  return {
    push(command) {
      waiting = command
      running ??= pump()
    },
    idle: () => running ?? Promise.resolve(),
  }
}

// ---------------------------------------------------------------------------------------------------
// The status readout

export interface PollOptions {
  /** Time between reads. */
  intervalMs: number
  /** Reads stop after this long even if the camera still moves. */
  maxMs: number
  /** The camera counts as settled no earlier than this (a preset move may not have started at the first read). */
  minMs: number
  /** Position differences below this are the same position. */
  epsilon: number
}

/** After a stop or a preset: every 300 ms for at most 5 s; settled once still for two reads, 0.9 s in at the earliest. */
export const SETTLE_POLL: PollOptions = { intervalMs: 300, maxMs: 5000, minMs: 900, epsilon: 0.005 }

/** Whether two reads show a camera at rest: not reporting a move, and at the same place on every axis. */
export function isSettled(prev: PtzStatus | null, next: PtzStatus, epsilon = SETTLE_POLL.epsilon): boolean {
  if (!prev || next.moving) return false
  return Math.abs(prev.pan - next.pan) < epsilon && Math.abs(prev.tilt - next.tilt) < epsilon && Math.abs(prev.zoom - next.zoom) < epsilon
}

export interface PollDeps {
  read: () => Promise<PtzStatus>
  /** Each read as it comes (the readout); null when a read failed. */
  show: (status: PtzStatus | null) => void
  /** True once a newer poll (or leaving the page) replaced this one. */
  cancelled: () => boolean
  sleep: (ms: number) => Promise<void>
  now: () => number
}

/**
 * Reads the PTZ status until the camera settles, the time is up or the poll is cancelled, showing
 * every read: the readout follows a preset move to its end instead of keeping the position from
 * before. A failed read shows nothing known and keeps polling (the next may answer).
 */
export async function pollUntilSettled(deps: PollDeps, opts: PollOptions = SETTLE_POLL): Promise<'settled' | 'timeout' | 'cancelled'> {
  const started = deps.now()
  let prev: PtzStatus | null = null
  for (;;) {
    let next: PtzStatus | null = null
    try {
      next = await deps.read()
    } catch {
      next = null
    }
    if (deps.cancelled()) return 'cancelled'
    deps.show(next)
    const elapsed = deps.now() - started
    if (next && elapsed >= opts.minMs && isSettled(prev, next, opts.epsilon)) return 'settled'
    if (elapsed + opts.intervalMs > opts.maxMs) return 'timeout'
    prev = next
    await deps.sleep(opts.intervalMs)
    if (deps.cancelled()) return 'cancelled'
  }
}
