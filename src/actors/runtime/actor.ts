import { ActorStoppedError } from '../../errors.ts'
import { withDeadline } from '../../time.ts'
import type { ActorStatus, Behavior } from './types.ts'

interface Envelope<M, R> {
  message: M
  resolve?: (value: R) => void
  reject?: (error: unknown) => void
}

/** The supervisor's answer to a failure, carried out by the actor itself. */
export type FailureDecision =
  | { directive: 'resume' }
  | { directive: 'restart'; delayMs: number }
  | { directive: 'stop' }
  | { directive: 'fail' }

/** `starting`: the failure came from preStart, where there is nothing to resume. */
export type FailureHandler = (actor: Actor<any, any>, error: unknown, starting: boolean) => FailureDecision

/**
 * An actor: a mailbox processed one message at a time by a behavior. Failures go to the
 * supervisor, which resumes, restarts (a fresh behavior, the mailbox kept), stops or escalates.
 *
 * @example
 * const counter = supervisor.spawn('counter', () => { let n = 0; return { receive: (by: number) => (n += by) } })
 * counter.tell(1); await counter.ask(2) // 3
 */
export class Actor<M, R = unknown> {
  #status: ActorStatus = 'starting'
  #behavior: Behavior<M, R> | undefined
  readonly #mailbox: Envelope<M, R>[] = []
  #wake: (() => void) | undefined
  #stopRequested: 'drain' | 'now' | undefined
  #drainedWaiters: Array<() => void> = []
  /** Ends a restart's backoff early when a stop is requested. */
  #interruptBackoff: (() => void) | undefined
  readonly done: Promise<void>

  constructor(
    readonly name: string,
    private readonly factory: () => Behavior<M, R>,
    private readonly onFailure: FailureHandler,
    private readonly askTimeoutMs: number,
  ) {
    // Never runs behavior code inside the constructor: the spawner finishes registering first.
    this.done = Promise.resolve().then(() => this.#run())
  }

  get status(): ActorStatus {
    return this.#status
  }

  /** Messages waiting, not counting the one being processed. */
  get queued(): number {
    return this.#mailbox.length
  }

  /** Sends without waiting. Throws ActorStoppedError once the actor is stopping. */
  tell(message: M): void {
    this.#post({ message })
  }

  /** Sends and waits for the reply; rejects with the behavior's error, or TimeoutError after `timeoutMs`. */
  ask(message: M, timeoutMs = this.askTimeoutMs): Promise<R> {
    const reply = new Promise<R>((resolve, reject) => this.#post({ message, resolve, reject }))
    return withDeadline(reply, timeoutMs, `ask ${this.name}`)
  }

  /** Resolves when the mailbox holds at most `limit` messages (backpressure for producers). */
  whenBelow(limit: number): Promise<void> {
    if (this.#mailbox.length <= limit || this.#stopRequested) return Promise.resolve()
    return new Promise<void>((resolve) => this.#drainedWaiters.push(resolve)).then(() => this.whenBelow(limit))
  }

  /**
   * Stops the actor. `drain` (default) processes every message already queued; `now` finishes only
   * the current message and rejects the rest with ActorStoppedError. Resolves after postStop.
   */
  stop(mode: 'drain' | 'now' = 'drain'): Promise<void> {
    if (!this.#stopRequested || mode === 'now') this.#stopRequested = mode
    if (this.#status === 'running' || this.#status === 'starting') this.#status = 'stopping'
    this.#wake?.()
    this.#interruptBackoff?.()
    return this.done
  }

  #post(envelope: Envelope<M, R>): void {
    if (this.#stopRequested || this.#status === 'stopped' || this.#status === 'failed') {
      throw new ActorStoppedError(`actor ${this.name} is ${this.#stopRequested ? 'stopping' : this.#status}`)
    }
    this.#mailbox.push(envelope)
    this.#wake?.()
  }

  /** Starts a fresh behavior; on failure follows the supervisor until running or ended. */
  async #start(): Promise<'running' | 'stopped' | 'failed'> {
    for (let attempt = 0; ; attempt++) {
      // A stop requested during a restart's backoff wins: a partition revoked meanwhile must not
      // be taken up again by this actor (its preStart would fence the partition's new owner).
      if (attempt > 0 && this.#stopRequested) return 'stopped'
      try {
        this.#behavior = this.factory()
        await this.#behavior.preStart?.()
        if (this.#status === 'starting' || this.#status === 'restarting') this.#status = 'running'
        return 'running'
      } catch (error) {
        const outcome = await this.#follow(this.onFailure(this, error, true), true)
        if (outcome === 'stopped' || outcome === 'failed') return outcome
      }
    }
  }

  /** Carries out a supervisor decision. */
  async #follow(decision: FailureDecision, starting = false): Promise<'resumed' | 'restarted' | 'stopped' | 'failed'> {
    switch (decision.directive) {
      case 'resume':
        return 'resumed'
      case 'restart':
        this.#status = 'restarting'
        await this.#postStop()
        await this.#backoff(decision.delayMs)
        if (this.#stopRequested) return 'stopped'
        if (starting) return 'restarted'
        return (await this.#start()) === 'running' ? 'restarted' : 'failed'
      case 'stop':
        return 'stopped'
      case 'fail':
        return 'failed'
    }
  }

  async #run(): Promise<void> {
    const started = await this.#start()
    if (started !== 'running') return this.#finish(started)
    for (;;) {
      if (this.#stopRequested === 'now' || (this.#stopRequested === 'drain' && this.#mailbox.length === 0)) break
      const envelope = this.#mailbox.shift()
      if (!envelope) {
        await new Promise<void>((resolve) => (this.#wake = resolve))
        this.#wake = undefined
        continue
      }
      this.#notifyDrained()
      try {
        const result = await this.#behavior!.receive(envelope.message)
        envelope.resolve?.(result)
      } catch (error) {
        envelope.reject?.(error)
        const outcome = await this.#follow(this.onFailure(this, error, false))
        if (outcome === 'stopped' || outcome === 'failed') return this.#finish(outcome)
      }
    }
    await this.#finish('stopped')
  }

  /** Waits `ms`, or less if a stop is requested meanwhile. */
  async #backoff(ms: number): Promise<void> {
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, ms)
      this.#interruptBackoff = () => {
        clearTimeout(timer)
        resolve()
      }
    })
    this.#interruptBackoff = undefined
  }

  async #postStop(): Promise<void> {
    try {
      await this.#behavior?.postStop?.()
    } catch {
      // Reported by the supervisor's events if it matters; a failing cleanup must not block a stop.
    }
  }

  #notifyDrained(): void {
    const waiters = this.#drainedWaiters
    this.#drainedWaiters = []
    for (const wake of waiters) wake()
  }

  async #finish(status: 'stopped' | 'failed'): Promise<void> {
    await this.#postStop()
    this.#status = status
    for (const envelope of this.#mailbox.splice(0)) {
      envelope.reject?.(new ActorStoppedError(`actor ${this.name} ${status} before handling the message`))
    }
    this.#notifyDrained()
  }
}
