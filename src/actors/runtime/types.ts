/** What an actor does. A fresh instance is made at start and at every restart (state starts clean). */
export interface Behavior<M, R = unknown> {
  /** Runs before the first message; a failure here is a failure of the actor (restart or escalate). */
  preStart?(): Promise<void> | void
  /** One message at a time, in mailbox order; the value answers an `ask`. */
  receive(message: M): Promise<R> | R
  /** Runs on stop and before a restart; errors are reported, never rethrown. */
  postStop?(): Promise<void> | void
}

/**
 * What a supervisor does with a failed child (Akka's vocabulary):
 * resume (keep state, next message), restart (fresh behavior after a backoff), stop, escalate (fail the parent).
 */
export type Directive = 'resume' | 'restart' | 'stop' | 'escalate'

export type ActorStatus = 'starting' | 'running' | 'restarting' | 'stopping' | 'stopped' | 'failed'

export interface ActorEvents {
  'actor:start': { actor: string }
  'actor:restart': { actor: string; attempt: number; delayMs: number; error: unknown }
  'actor:stop': { actor: string }
  'actor:fail': { actor: string; error: unknown }
  'supervisor:escalate': { supervisor: string; error: unknown }
}
