import { describe, expect, test } from 'bun:test'
import { ActorStoppedError, EscalationError, LogError, TimeoutError } from '../../errors.ts'
import { sleep } from '../../time.ts'
import { createActorSystem } from './supervisor.ts'
import type { Behavior } from './types.ts'

type Msg = { add: number } | 'boom' | 'get' | { sleep: number }

/** A counter whose state starts at zero in every fresh behavior. */
function counter(log: string[] = []): () => Behavior<Msg, number> {
  let incarnation = 0
  return () => {
    const me = ++incarnation
    let total = 0
    return {
      preStart: () => void log.push(`start ${me}`),
      async receive(msg) {
        if (msg === 'boom') throw new Error(`boom in ${me}`)
        if (msg === 'get') return total
        if ('sleep' in msg) await sleep(msg.sleep)
        else total += msg.add
        return total
      },
      postStop: () => void log.push(`stop ${me}`),
    }
  }
}

const fast = { minBackoffMs: 1, maxBackoffMs: 5, factor: 2, maxRestarts: 3, withinMs: 10_000 }

function system(strategy: object = fast, now?: () => number) {
  const escalations: EscalationError[] = []
  const root = createActorSystem((e) => escalations.push(e), { strategy, now })
  return { root, escalations }
}

describe('actor runtime', () => {
  test('a crash restarts the actor with fresh state; later messages are still processed', async () => {
    const { root } = system()
    const log: string[] = []
    const restarts: number[] = []
    root.events.onEvent('actor:restart', (e) => restarts.push(e.attempt))
    const actor = root.spawn('counter', counter(log))
    actor.tell({ add: 5 })
    const failed = actor.ask('boom')
    actor.tell({ add: 2 })
    await expect(failed).rejects.toThrow('boom in 1')
    expect(await actor.ask('get')).toBe(2)
    expect(restarts).toEqual([1])
    expect(log).toEqual(['start 1', 'stop 1', 'start 2'])
    expect(actor.status).toBe('running')
  })

  test('backoff grows exponentially up to its maximum, and the actor really waits', async () => {
    const { root } = system({ minBackoffMs: 20, maxBackoffMs: 70, factor: 2, maxRestarts: 10, withinMs: 60_000 })
    const delays: number[] = []
    const at: number[] = []
    root.events.onEvent('actor:restart', (e) => {
      delays.push(e.delayMs)
      at.push(performance.now())
    })
    const actor = root.spawn('counter', counter())
    for (let i = 0; i < 4; i++) await actor.ask('boom').catch(() => {})
    await actor.ask('get')
    const answered = performance.now()
    expect(delays).toEqual([20, 40, 70, 70])
    // The reply after the last restart cannot come before that restart's backoff elapsed.
    expect(answered - at[3]).toBeGreaterThanOrEqual(69)
  })

  test('too many restarts within the window escalate to the root with every failure gathered', async () => {
    const { root, escalations } = system({ ...fast, maxRestarts: 2 })
    const roles = root.child('inventory')
    const actor = roles.spawn('inventory-3', counter())
    for (let i = 0; i < 3; i++) await actor.ask('boom').catch(() => {})
    await actor.done
    expect(actor.status).toBe('failed')
    expect(escalations).toHaveLength(1)
    expect(escalations[0]).toBeInstanceOf(EscalationError)
    expect(escalations[0].message).toContain('inventory-3 failed 3 times')
    expect((escalations[0].cause as AggregateError).errors.map((e: Error) => e.message)).toEqual([
      'boom in 1',
      'boom in 2',
      'boom in 3',
    ])
    expect(() => actor.tell('get')).toThrow(ActorStoppedError)
    expect(root.statuses()).toEqual([{ actor: 'inventory-3', status: 'failed' }])
  })

  test('failures outside the window do not count towards escalation', async () => {
    let clock = 1_000
    const { root, escalations } = system({ ...fast, maxRestarts: 1, withinMs: 30 }, () => clock)
    const actor = root.spawn('counter', counter())
    await actor.ask('boom').catch(() => {})
    clock += 40
    await actor.ask('boom').catch(() => {})
    expect(await actor.ask({ add: 1 })).toBe(1)
    expect(escalations).toHaveLength(0)
  })

  test('a failing preStart is retried under the same limits, then escalates', async () => {
    const { root, escalations } = system({ ...fast, maxRestarts: 2 })
    let attempts = 0
    const actor = root.spawn('flaky', () => ({
      preStart() {
        attempts++
        throw new Error('cannot connect')
      },
      receive: () => 0,
    }))
    await actor.done
    expect(attempts).toBe(3)
    expect(escalations).toHaveLength(1)
  })

  test('retryable failures (the broker away) restart with growing backoff for as long as they last, and never escalate', async () => {
    const { root, escalations } = system({ minBackoffMs: 1, maxBackoffMs: 4, factor: 2, maxRestarts: 2, withinMs: 60_000 })
    let attempts = 0
    const delays: number[] = []
    root.events.onEvent('actor:restart', (e) => delays.push(e.delayMs))
    const actor = root.spawn('member', () => ({
      preStart() {
        if (++attempts <= 10) throw new LogError('join group failed: connection refused', { retryable: true })
      },
      receive: () => attempts,
    }))
    expect(await actor.ask(undefined)).toBe(11)
    expect(escalations).toHaveLength(0)
    expect(delays).toEqual([1, 2, 4, 4, 4, 4, 4, 4, 4, 4])
  })

  test('a stop during a restart backoff ends the actor without starting it again', async () => {
    const { root } = system({ minBackoffMs: 10_000, maxBackoffMs: 10_000, factor: 1, maxRestarts: 5, withinMs: 60_000 })
    let starts = 0
    const actor = root.spawn('partition-3', () => ({
      preStart() {
        starts++
      },
      receive() {
        throw new Error('commit failed')
      },
    }))
    await actor.ask(undefined).catch(() => {})
    expect(actor.status).toBe('restarting')
    const began = performance.now()
    await actor.stop('now')
    expect(performance.now() - began).toBeLessThan(1_000)
    expect(starts).toBe(1)
    expect(actor.status).toBe('stopped')
  })

  test('resume asked for a failing preStart becomes a counted restart with backoff, not a busy loop', async () => {
    const { root, escalations } = system({ ...fast, maxRestarts: 2, decide: () => 'resume' })
    let attempts = 0
    const actor = root.spawn('flaky', () => ({
      preStart() {
        attempts++
        throw new Error('bad state')
      },
      receive: () => 0,
    }))
    await actor.done
    expect(attempts).toBe(3)
    expect(escalations).toHaveLength(1)
  })

  test('the strategy decides from the error: resume keeps state, stop ends the actor', async () => {
    class Invalid extends Error {}
    const { root } = system({ ...fast, decide: (e: unknown) => (e instanceof Invalid ? 'resume' : 'stop') })
    let total = 0
    const actor = root.spawn('picky', () => ({
      receive(msg: number) {
        if (msg < 0) throw new Invalid('negative')
        if (msg === 0) throw new Error('fatal')
        return (total += msg)
      },
    }))
    expect(await actor.ask(3)).toBe(3)
    await expect(actor.ask(-1)).rejects.toThrow('negative')
    expect(await actor.ask(4)).toBe(7)
    await expect(actor.ask(0)).rejects.toThrow('fatal')
    await actor.done
    expect(actor.status).toBe('stopped')
  })

  test('stop drains the mailbox: every message sent before stop is processed', async () => {
    const { root } = system()
    const seen: number[] = []
    const actor = root.spawn('slow', () => ({
      async receive(n: number) {
        await sleep(1)
        seen.push(n)
      },
    }))
    for (let i = 0; i < 50; i++) actor.tell(i)
    const stopped = actor.stop()
    expect(() => actor.tell(99)).toThrow(ActorStoppedError)
    await stopped
    expect(seen).toEqual(Array.from({ length: 50 }, (_, i) => i))
    expect(actor.status).toBe('stopped')
  })

  test("stop('now') finishes the current message and rejects the queued ones", async () => {
    const { root } = system()
    const started = Promise.withResolvers<void>()
    const release = Promise.withResolvers<void>()
    const actor = root.spawn('gate', () => ({
      async receive(message: string) {
        if (message === 'hold') {
          started.resolve()
          await release.promise
        }
        return message
      },
    }))
    const current = actor.ask('hold')
    const queued = actor.ask('next')
    await started.promise
    const stopping = actor.stop('now')
    release.resolve()
    await stopping
    expect(await current).toBe('hold')
    await expect(queued).rejects.toBeInstanceOf(ActorStoppedError)
  })

  test('ask rejects with TimeoutError when no reply comes in time', async () => {
    const { root } = system()
    const actor = root.spawn('counter', counter())
    await expect(actor.ask({ sleep: 200 }, 20)).rejects.toBeInstanceOf(TimeoutError)
    expect(await actor.ask({ add: 1 }, 1_000)).toBe(1)
  })

  test('whenBelow resolves once the mailbox drains under the limit', async () => {
    const { root } = system()
    const actor = root.spawn('counter', counter())
    for (let i = 0; i < 20; i++) actor.tell({ sleep: 1 })
    expect(actor.queued).toBeGreaterThan(5)
    await actor.whenBelow(5)
    expect(actor.queued).toBeLessThanOrEqual(5)
  })
})
