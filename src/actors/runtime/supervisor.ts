import { EventEmitter } from 'node:events'
import { EscalationError, ShopError } from '../../errors.ts'
import { Actor, type FailureDecision } from './actor.ts'
import { backoffDelay } from '../../time.ts'
import { type SupervisorStrategy, restartBackoff, strategyOptions } from './options.ts'
import type { ActorEvents, ActorStatus, Behavior } from './types.ts'

/** Typed events of an actor system (`actor:restart`, `supervisor:escalate`, ...). */
export class ActorEventBus extends EventEmitter {
  emitEvent<K extends keyof ActorEvents>(name: K, payload: ActorEvents[K]): void {
    this.emit(name, payload)
  }
  onEvent<K extends keyof ActorEvents>(name: K, listener: (payload: ActorEvents[K]) => void): this {
    return this.on(name, listener)
  }
}

export interface SupervisorOptions {
  strategy?: Partial<SupervisorStrategy>
  /** Default deadline of `ask`. */
  askTimeoutMs?: number
  /** The clock restart windows are measured with (milliseconds); tests pass their own. */
  now?: () => number
}

/**
 * Supervises actors and child supervisors. A failed actor is resumed, restarted with exponential
 * backoff, stopped or escalated, as the strategy decides from the error. More than `maxRestarts`
 * restarts of one actor within `withinMs` escalate: the supervisor fails towards its parent, up to
 * the root, whose handler ends the process non-zero so that its orchestrator restarts it.
 */
export class Supervisor {
  readonly #actors = new Map<string, Actor<any, any>>()
  readonly #children = new Map<string, Supervisor>()
  readonly #failures = new Map<string, Array<{ at: number; error: unknown; counted: boolean }>>()
  readonly #strategy: SupervisorStrategy
  readonly #askTimeoutMs: number
  readonly #options: SupervisorOptions

  constructor(
    readonly name: string,
    readonly events: ActorEventBus,
    private readonly escalate: (error: EscalationError) => void,
    options: SupervisorOptions = {},
  ) {
    this.#options = options
    this.#strategy = strategyOptions(options.strategy)
    this.#askTimeoutMs = options.askTimeoutMs ?? 5_000
  }

  /** Starts an actor under this supervisor. Names are unique among a supervisor's actors. */
  spawn<M, R = unknown>(name: string, factory: () => Behavior<M, R>): Actor<M, R> {
    const existing = this.#actors.get(name)
    if (existing && existing.status !== 'stopped' && existing.status !== 'failed') {
      throw new Error(`actor ${name} already runs under ${this.name}`)
    }
    this.#failures.delete(name)
    const actor = new Actor<M, R>(name, factory, (a, error, starting) => this.#onFailure(a, error, starting), this.#askTimeoutMs)
    this.#actors.set(name, actor)
    this.events.emitEvent('actor:start', { actor: name })
    actor.done.then(() => {
      // A stopped actor leaves the tree; a failed one stays visible (readiness) until escalation ends the process.
      if (actor.status === 'stopped' && this.#actors.get(name) === actor) this.#actors.delete(name)
      this.events.emitEvent('actor:stop', { actor: name })
    })
    return actor
  }

  /** A child supervisor (strategy inherited unless given); its escalations reach this one's parent chain. */
  child(name: string, options: SupervisorOptions = {}): Supervisor {
    const child = new Supervisor(name, this.events, (error) => this.#escalate(error), {
      ...this.#options,
      ...options,
    })
    this.#children.set(name, child)
    return child
  }

  /**
   * Errors a retry may cure (ShopError.retryable: the broker unreachable, a call timed out) restart
   * the actor with backoff for as long as they last, without counting towards escalation: an
   * outage is an expected condition, and a new process would meet the same broker. Other errors
   * count; a resume asked for a failed preStart becomes a counted restart (nothing is running to
   * resume).
   */
  #onFailure(actor: Actor<any, any>, error: unknown, starting: boolean): FailureDecision {
    this.events.emitEvent('actor:fail', { actor: actor.name, error })
    let directive = this.#strategy.decide?.(error) ?? (error instanceof EscalationError ? 'escalate' : 'restart')
    if (directive === 'stop' || (directive === 'resume' && !starting)) return { directive }
    if (directive === 'resume') directive = 'restart'
    const now = (this.#options.now ?? Date.now)()
    const counted = directive === 'escalate' || !(error instanceof ShopError && error.retryable)
    const recent = (this.#failures.get(actor.name) ?? []).filter((f) => now - f.at < this.#strategy.withinMs)
    recent.push({ at: now, error, counted })
    this.#failures.set(actor.name, recent)
    const countedRecent = recent.filter((f) => f.counted)
    if (directive === 'escalate' || countedRecent.length > this.#strategy.maxRestarts) {
      this.#escalate(
        new EscalationError(
          `actor ${actor.name} failed ${countedRecent.length} times within ${this.#strategy.withinMs} ms (limit ${this.#strategy.maxRestarts} restarts)`,
          { cause: new AggregateError(countedRecent.map((f) => f.error), `failures of ${actor.name}`) },
        ),
      )
      return { directive: 'fail' }
    }
    const delayMs = backoffDelay(restartBackoff(this.#strategy), recent.length)
    this.events.emitEvent('actor:restart', { actor: actor.name, attempt: recent.length, delayMs, error })
    return { directive: 'restart', delayMs }
  }

  #escalate(error: EscalationError): void {
    this.events.emitEvent('supervisor:escalate', { supervisor: this.name, error })
    this.escalate(error)
  }

  /** Every actor below this supervisor with its status (readiness reads this). */
  statuses(): Array<{ actor: string; status: ActorStatus }> {
    return [
      ...[...this.#actors.values()].map((a) => ({ actor: a.name, status: a.status })),
      ...[...this.#children.values()].flatMap((c) => c.statuses()),
    ]
  }

  /** Stops children first, then this supervisor's actors, each draining its mailbox. */
  async stop(mode: 'drain' | 'now' = 'drain'): Promise<void> {
    await Promise.all([...this.#children.values()].map((c) => c.stop(mode)))
    await Promise.all([...this.#actors.values()].map((a) => a.stop(mode)))
  }
}

/** The root of a process's actor tree. `onEscalate` decides what a failure at the top means. */
export function createActorSystem(onEscalate: (error: EscalationError) => void, options: SupervisorOptions = {}) {
  const events = new ActorEventBus()
  return new Supervisor('root', events, onEscalate, options)
}
