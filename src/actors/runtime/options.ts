import { type Static, Type } from '@sinclair/typebox'
import { validate } from '../../config/validate.ts'
import { ConfigError } from '../../errors.ts'
import type { Backoff } from '../../time.ts'
import type { Directive } from './types.ts'

export const SupervisorStrategySchema = Type.Object(
  {
    /** Restarts allowed within `withinMs` before the supervisor escalates. */
    maxRestarts: Type.Integer({ minimum: 0 }),
    withinMs: Type.Integer({ minimum: 1 }),
    /** Restart n waits min(maxBackoffMs, minBackoffMs * factor^(n-1)), n counted within the window. */
    minBackoffMs: Type.Integer({ minimum: 0 }),
    maxBackoffMs: Type.Integer({ minimum: 0 }),
    factor: Type.Number({ minimum: 1 }),
  },
  { additionalProperties: false },
)

export interface SupervisorStrategy extends Static<typeof SupervisorStrategySchema> {
  /** Decides from the error's data; restart by default. */
  decide?: (error: unknown) => Directive
}

export const defaultStrategy: Required<Omit<SupervisorStrategy, 'decide'>> = {
  maxRestarts: 5,
  withinMs: 60_000,
  minBackoffMs: 100,
  maxBackoffMs: 10_000,
  factor: 2,
}

export function strategyOptions(options: Partial<SupervisorStrategy> = {}): SupervisorStrategy {
  const { decide, ...rest } = options
  const merged = validate(SupervisorStrategySchema, { ...defaultStrategy, ...rest }, 'supervisor')
  if (merged.maxBackoffMs < merged.minBackoffMs) {
    throw new ConfigError('must be >= minBackoffMs', 'supervisor.maxBackoffMs')
  }
  return { ...merged, decide }
}

/** The strategy's restart backoff in shop's one backoff rule (time.ts). */
export function restartBackoff(strategy: SupervisorStrategy): Backoff {
  return { minMs: strategy.minBackoffMs, maxMs: strategy.maxBackoffMs, factor: strategy.factor }
}
