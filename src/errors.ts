/**
 * Every error shop raises on purpose. Codes are stable: logs, problem bodies and tests match on them.
 */
export const ErrorCodes = [
  'SHOP_CONFIG',
  'SHOP_TIMEOUT',
  'SHOP_TOPIC_MISMATCH',
  'SHOP_FENCED',
  'SHOP_NOT_READY',
  'SHOP_ACTOR_STOPPED',
  'SHOP_ESCALATED',
  'SHOP_LOG',
] as const
export type ErrorCode = (typeof ErrorCodes)[number]

export interface ShopErrorOptions {
  cause?: unknown
  retryable?: boolean
}

export class ShopError extends Error {
  static readonly code: ErrorCode = 'SHOP_LOG'
  readonly code: ErrorCode
  readonly retryable: boolean
  /** HTTP status when this error reaches the API; 500 unless a subclass says otherwise. */
  readonly status: number = 500

  constructor(message: string, options: ShopErrorOptions = {}) {
    super(message, { cause: options.cause })
    this.name = new.target.name
    this.code = (new.target as typeof ShopError).code
    this.retryable = options.retryable ?? false
  }
}

/** Invalid configuration; `path` is the JSON path of the offending setting. */
export class ConfigError extends ShopError {
  static override readonly code = 'SHOP_CONFIG'
  constructor(
    message: string,
    readonly path?: string,
  ) {
    super(path ? `${path}: ${message}` : message)
  }
}

/** A call that waits on a broker or an actor did not settle within its deadline. */
export class TimeoutError extends ShopError {
  static override readonly code = 'SHOP_TIMEOUT'
  constructor(what: string, ms: number) {
    super(`${what} did not complete within ${ms} ms`, { retryable: true })
  }
}

/** An existing topic disagrees with what shop needs (partition count, co-partitioning). */
export class TopicMismatchError extends ShopError {
  static override readonly code = 'SHOP_TOPIC_MISMATCH'
}

/**
 * This producer or group member is a zombie: a newer instance took over its transactional id,
 * or the group moved to a newer generation. Its transaction was not committed.
 */
export class FencedError extends ShopError {
  static override readonly code = 'SHOP_FENCED'
}

/** The process is starting, shutting down or overloaded; the caller may retry later. */
export class NotReadyError extends ShopError {
  static override readonly code = 'SHOP_NOT_READY'
  override readonly status = 503
  constructor(message: string) {
    super(message, { retryable: true })
  }
}

export class ActorStoppedError extends ShopError {
  static override readonly code = 'SHOP_ACTOR_STOPPED'
}

/** A supervisor gave up: too many restarts within its window. `cause` holds the failures seen. */
export class EscalationError extends ShopError {
  static override readonly code = 'SHOP_ESCALATED'
}

/** A log adapter call failed for a reason not covered above. */
export class LogError extends ShopError {
  static override readonly code = 'SHOP_LOG'
}
