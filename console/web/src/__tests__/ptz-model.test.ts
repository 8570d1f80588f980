import { describe, expect, it } from 'vitest'
import type { PtzStatus } from '../api/ptz.ts'
import {
  createCommandSender,
  initialPad,
  isSettled,
  padStep,
  padVelocity,
  pollUntilSettled,
  type PadAction,
  type PadState,
  type PtzCommand,
} from '../components/ptz-model.ts'

/** The commands a sequence of pad actions sends, in order (speed 0.5). */
function run(actions: PadAction[], speed = 0.5): { commands: (PtzCommand | null)[]; state: PadState } {
  let state = initialPad()
  const commands: (PtzCommand | null)[] = []
  for (const a of actions) {
    const step = padStep(state, a, speed)
    state = step.state
    commands.push(step.command)
  }
  return { commands, state }
}
const move = (pan: number, tilt: number, zoom = 0): PtzCommand => ({ type: 'move', velocity: { pan, tilt, zoom } })
const STOP: PtzCommand = { type: 'stop' }
const press = (source: string, dir: Parameters<typeof padVelocity>[0][number]['dir']): PadAction => ({ type: 'press', source, dir })
const release = (source: string): PadAction => ({ type: 'release', source })

describe('the PTZ pad: presses and releases', () => {
  it('moves on a press and stops on its release', () => {
    expect(run([press('pointer:1', 'left'), release('pointer:1')]).commands).toEqual([move(-0.5, 0), STOP])
    expect(run([press('key:zoom-in', 'zoom-in'), release('key:zoom-in')], 0.3).commands).toEqual([move(0, 0, 0.3), STOP])
  })

  it('never stops under a button still held: left held, up pressed, left let go, then up let go', () => {
    const { commands, state } = run([
      press('pointer:1', 'left'),
      press('pointer:2', 'up'), // a second finger (or the keyboard) while left is held: diagonal
      release('pointer:1'), // left let go, up still held: up alone, no stop
      release('pointer:2'),
    ])
    expect(commands).toEqual([move(-0.5, 0), move(-0.5, 0.5), move(0, 0.5), STOP])
    expect(state).toEqual(initialPad())
  })

  it('ignores the focus leaving the first button after the pointer pressed the second (the old stray stop)', () => {
    // mouse: left pressed and let go, then up pressed; the browser then blurs the left button
    const { commands } = run([press('pointer:1', 'left'), release('pointer:1'), press('pointer:1', 'up'), release('key:left'), release('pointer:1')])
    expect(commands).toEqual([move(-0.5, 0), STOP, move(0, 0.5), null, STOP])
  })

  it('lets the direction pressed last win on one axis, and goes back to the other when it is let go', () => {
    expect(run([press('pointer:1', 'left'), press('key:right', 'right'), release('key:right'), release('pointer:1')]).commands)
      .toEqual([move(-0.5, 0), move(0.5, 0), move(-0.5, 0), STOP])
  })

  it('sends nothing for key repeat, a release of what is not held, or a second input pressing the same way', () => {
    expect(run([press('key:up', 'up'), press('key:up', 'up'), release('pointer:9'), press('pointer:1', 'up'), release('key:up'), release('pointer:1')]).commands)
      .toEqual([move(0, 0.5), null, null, null, null, STOP])
  })

  it('stops on the stop button whatever is held, and on release-all only when a move was sent', () => {
    expect(run([press('pointer:1', 'down'), { type: 'stop' }, release('pointer:1')]).commands).toEqual([move(0, -0.5), STOP, null])
    expect(run([{ type: 'stop' }]).commands).toEqual([STOP])
    expect(run([press('pointer:1', 'down'), { type: 'release-all' }, { type: 'release-all' }]).commands).toEqual([move(0, -0.5), STOP, null])
    expect(run([{ type: 'release-all' }]).commands).toEqual([null])
  })

  it('clamps the speed and rounds the velocity to hundredths', () => {
    expect(padVelocity([{ source: 'a', dir: 'right' }], 3)).toEqual({ pan: 1, tilt: 0, zoom: 0 })
    expect(padVelocity([{ source: 'a', dir: 'right' }], 0)).toEqual({ pan: 0.05, tilt: 0, zoom: 0 })
    expect(padVelocity([{ source: 'a', dir: 'down' }], 0.333)).toEqual({ pan: 0, tilt: -0.33, zoom: 0 })
    expect(padVelocity([], 0.5)).toBeNull()
  })
})

/** A send whose answers the test releases one by one. */
function manualSend() {
  const sent: PtzCommand[] = []
  const answers: (() => void)[] = []
  const send = (c: PtzCommand) => {
    sent.push(c)
    return new Promise<void>((resolve) => answers.push(resolve))
  }
  const answer = async () => {
    answers.shift()!()
    await new Promise((r) => setTimeout(r, 0))
  }
  return { sent, send, answer }
}

describe('the PTZ command sender', () => {
  it('sends one command at a time, in order: a stop only after its move was answered', async () => {
    const m = manualSend()
    const sender = createCommandSender(m.send, () => {})
    sender.push(move(-0.5, 0))
    sender.push(STOP)
    expect(m.sent).toEqual([move(-0.5, 0)])
    await m.answer()
    expect(m.sent).toEqual([move(-0.5, 0), STOP])
    await m.answer()
    await sender.idle()
  })

  it('replaces a waiting command by a newer one, so a stale stop never runs after the second move', async () => {
    const m = manualSend()
    const sender = createCommandSender(m.send, () => {})
    sender.push(move(-0.5, 0)) // in flight
    sender.push(STOP) // left let go ...
    sender.push(move(0, 0.5)) // ... and up pressed before the first answer
    await m.answer()
    expect(m.sent).toEqual([move(-0.5, 0), move(0, 0.5)])
    await m.answer()
    await sender.idle()
    expect(m.sent).toHaveLength(2)
  })

  it('reports a failed command and still sends the next', async () => {
    const errors: unknown[] = []
    const sent: PtzCommand[] = []
    const sender = createCommandSender(async (c) => {
      sent.push(c)
      if (c.type === 'move') throw new Error('camera busy')
    }, (e) => errors.push(e))
    sender.push(move(1, 0))
    sender.push(STOP)
    await sender.idle()
    expect(sent).toEqual([move(1, 0), STOP])
    expect(errors.map((e) => (e as Error).message)).toEqual(['camera busy'])
  })
})

describe('the PTZ readout after a move or a preset', () => {
  const at = (pan: number, tilt: number, zoom = 0, moving = false): PtzStatus => ({ pan, tilt, zoom, moving })

  it('is settled when two reads agree and the camera reports no move', () => {
    expect(isSettled(at(0.1, 0.2), at(0.1, 0.2))).toBe(true)
    expect(isSettled(at(0.1, 0.2), at(0.1, 0.2041))).toBe(true)
    expect(isSettled(at(0.1, 0.2), at(0.1, 0.21))).toBe(false)
    expect(isSettled(at(0.1, 0.2), at(0.1, 0.2, 0, true))).toBe(false)
    expect(isSettled(null, at(0.1, 0.2))).toBe(false)
  })

  /** Polls over scripted reads with a fake clock: what was shown and how it ended. */
  async function poll(reads: (PtzStatus | Error)[], cancelAfter = Infinity) {
    let clock = 0
    let i = 0
    const shown: (PtzStatus | null)[] = []
    const result = await pollUntilSettled({
      read: async () => {
        const r = reads[Math.min(i++, reads.length - 1)]!
        if (r instanceof Error) throw r
        return r
      },
      show: (s) => shown.push(s),
      cancelled: () => shown.length >= cancelAfter,
      sleep: async (ms) => { clock += ms },
      now: () => clock,
    })
    return { result, shown, reads: i, elapsed: clock }
  }

  it('follows a preset move until it settles, no earlier than 0.9 s', async () => {
    const r = await poll([at(0, 0), at(0.3, 0.1, 0, true), at(0.6, 0.2, 0, true), at(0.6, 0.2), at(0.6, 0.2), at(0.6, 0.2)])
    expect(r.result).toBe('settled')
    expect(r.shown.at(-1)).toEqual(at(0.6, 0.2))
    expect(r.reads).toBe(4) // at 0, 300, 600 (there, still moving) and 900 ms (there, at rest)
    expect(r.elapsed).toBe(900)
    // still too early at 600 ms though two reads agree: a preset move may not have started
    const early = await poll([at(0, 0), at(0, 0), at(0, 0), at(0.6, 0.2), at(0.6, 0.2)])
    expect(early.result).toBe('settled')
    expect(early.shown.at(-1)).toEqual(at(0.6, 0.2))
    // an instant preset (the simulator): the first read already shows it
    const instant = await poll([at(0.6, 0.2)])
    expect(instant.shown[0]).toEqual(at(0.6, 0.2))
    expect(instant.result).toBe('settled')
    expect(instant.elapsed).toBe(900)
  })

  it('gives up after 5 s of moving, keeps polling through a failed read, and stops when a newer poll starts', async () => {
    let n = 0
    const moving = Array.from({ length: 40 }, () => at((n += 0.01), 0, 0, true))
    const long = await poll(moving)
    expect(long.result).toBe('timeout')
    expect(long.reads).toBe(17) // reads at 0, 300 … 4800
    const flaky = await poll([new Error('504'), at(0.2, 0), at(0.2, 0), at(0.2, 0), at(0.2, 0)])
    expect(flaky.shown[0]).toBeNull()
    expect(flaky.result).toBe('settled')
    const cancelled = await poll([at(0, 0, 0, true)], 2)
    expect(cancelled.result).toBe('cancelled')
    expect(cancelled.shown).toHaveLength(2)
  })
})
