import { hostname } from 'node:os'
import { randomUUID } from 'node:crypto'
import type { ProcessHeartbeat } from '../../schemas/console.ts'
import type { Log, LogProducer } from '../kafka/port.ts'
import { type Logger, throttledWarning } from '../log.ts'
import { nowIso, sleep, withDeadline } from '../time.ts'

export interface HeartbeatOptions {
  log: Log
  logger: Logger
  topic: string
  everyMs: number
  /** What the process is now: read at every beat. */
  describe: () => Pick<ProcessHeartbeat, 'roles' | 'url' | 'ready' | 'reasons' | 'runtime'>
}

/** How long a stop waits for its tombstone: a broker that is away must not hold the exit. */
const tombstoneMs = 2_000
/** A failed beat is logged at most this often (the broker away fails every beat). */
const warnEveryMs = 60_000

/**
 * The process's beat on `shop-processes`: what it runs and whether it is ready, every `everyMs`,
 * keyed by a process id of its own. A clean stop writes a tombstone, so the console forgets the
 * process at once; a process that dies stops beating, and the console shows it silent.
 */
export class Heartbeat {
  readonly id = `${hostname()}-${process.pid}-${randomUUID().slice(0, 8)}`
  readonly #startedAt = nowIso()
  readonly #producer: LogProducer
  readonly #stopped = Promise.withResolvers<void>()
  #running: Promise<void> | undefined
  #stopping = false
  readonly #warn

  constructor(private readonly options: HeartbeatOptions) {
    this.#producer = options.log.producer({ clientId: 'shop-heartbeat' })
    this.#warn = throttledWarning(options.logger, warnEveryMs)
  }

  start(): void {
    this.#running = (async () => {
      while (!this.#stopping) {
        await this.beat().catch((error) => this.#failed(error))
        await Promise.race([sleep(this.options.everyMs), this.#stopped.promise])
      }
    })()
  }

  /** Sends one beat now. */
  async beat(): Promise<void> {
    const beat: ProcessHeartbeat = {
      id: this.id,
      host: hostname(),
      pid: process.pid,
      ...this.options.describe(),
      startedAt: this.#startedAt,
      at: nowIso(),
      everyMs: this.options.everyMs,
    }
    await this.#producer.send([{ topic: this.options.topic, key: this.id, value: JSON.stringify(beat) }])
  }

  #failed(error: unknown): void {
    this.#warn({ event: 'heartbeat:failed', err: error }, 'the process heartbeat could not be sent; the console may show this process silent')
  }

  /** Stops beating and writes the tombstone (best effort: a broker that is away leaves the process to go silent). */
  async stop(): Promise<void> {
    this.#stopping = true
    this.#stopped.resolve()
    if (this.#running === undefined) return this.#producer.close()
    await this.#running
    await withDeadline(this.#producer.send([{ topic: this.options.topic, key: this.id, value: null }]), tombstoneMs, 'heartbeat tombstone').catch((error) => this.#failed(error))
    await this.#producer.close()
  }
}
