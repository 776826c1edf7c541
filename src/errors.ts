/**
 * Every error shop raises on purpose. Codes are stable: logs, problem bodies and tests match on them.
 */
export const ErrorCodes = [
  'SHOP_INTERNAL',
  'SHOP_CONFIG',
  'SHOP_TIMEOUT',
  'SHOP_TOPIC_MISMATCH',
  'SHOP_FENCED',
  'SHOP_NOT_READY',
  'SHOP_ACTOR_STOPPED',
  'SHOP_ESCALATED',
  'SHOP_LOG',
  'SHOP_INVALID_EVENT',
  'SHOP_BAD_REQUEST',
  'SHOP_CONFLICT',
  'SHOP_NOT_FOUND',
  'SHOP_TOO_LARGE',
  'SHOP_UNSUPPORTED_MEDIA_TYPE',
  'SHOP_DELIVERY',
  'SHOP_UNAVAILABLE',
  'SHOP_OUTCOME_UNKNOWN',
  'SHOP_METHOD_NOT_ALLOWED',
  'SHOP_DATA_DIR',
  'SHOP_UNAUTHORIZED',
  'SHOP_FORBIDDEN',
] as const
export type ErrorCode = (typeof ErrorCodes)[number]

export interface ShopErrorOptions {
  cause?: unknown
  retryable?: boolean
  /** Members added to the problem body when the error reaches the API (e.g. the orderId to retry with). */
  extensions?: Record<string, unknown>
}

/** Base of every shop error; a subclass names its own code (the base's is for failures of shop itself). */
export class ShopError extends Error {
  static readonly code: ErrorCode = 'SHOP_INTERNAL'
  readonly code: ErrorCode
  readonly retryable: boolean
  readonly extensions: Record<string, unknown>
  /** HTTP status when this error reaches the API; 500 unless a subclass says otherwise. */
  readonly status: number = 500

  constructor(message: string, options: ShopErrorOptions = {}) {
    super(message, { cause: options.cause })
    this.name = new.target.name
    this.code = (new.target as typeof ShopError).code
    this.retryable = options.retryable ?? false
    this.extensions = options.extensions ?? {}
  }
}

/** Whether a retry may cure `error`: a ShopError that says so (a timeout, an unreachable broker, a 429 or 5xx). */
export const isRetryable = (error: unknown): error is ShopError => error instanceof ShopError && error.retryable

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

/** A 503: the caller may retry later (the API adds Retry-After). */
export class RetryLaterError extends ShopError {
  override readonly status = 503
  constructor(message: string, options: Omit<ShopErrorOptions, 'retryable'> = {}) {
    super(message, { ...options, retryable: true })
  }
}

/** The process is starting, shutting down or overloaded; the caller may retry later. */
export class NotReadyError extends RetryLaterError {
  static override readonly code = 'SHOP_NOT_READY'
}

/**
 * The broker did not take the order in time, and it is certain that nothing was published (the
 * transaction never committed). Retrying is safe; with the same Idempotency-Key it lands once.
 */
export class UnavailableError extends RetryLaterError {
  static override readonly code = 'SHOP_UNAVAILABLE'
}

/**
 * The order's transaction was asked to commit but the broker's answer did not come in time: the
 * order may or may not be placed. Retrying with the same Idempotency-Key is safe: it lands once.
 */
export class OutcomeUnknownError extends RetryLaterError {
  static override readonly code = 'SHOP_OUTCOME_UNKNOWN'
}

/** A route exists but not for this method; `allow` lists the methods it has. */
export class MethodNotAllowedError extends ShopError {
  static override readonly code = 'SHOP_METHOD_NOT_ALLOWED'
  override readonly status = 405
  constructor(
    method: string,
    readonly allow: string[],
  ) {
    super(`${method} is not allowed here; allowed: ${allow.join(', ')}`)
  }
}

/** The state directory cannot be used (missing rights, not a directory, full). */
export class DataDirError extends ShopError {
  static override readonly code = 'SHOP_DATA_DIR'
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

/** A record whose headers or payload do not match the event it should carry: it goes to the dead-letter topic. */
export class InvalidEventError extends ShopError {
  static override readonly code = 'SHOP_INVALID_EVENT'
}

/** One problem found in a request body: the JSON pointer of the field and what is wrong with it. */
export interface FieldError {
  path: string
  message: string
}

/** A request the API refuses as malformed; `errors` name the fields at fault. */
export class BadRequestError extends ShopError {
  static override readonly code = 'SHOP_BAD_REQUEST'
  override readonly status = 400
  constructor(
    message: string,
    readonly errors: FieldError[] = [],
  ) {
    super(message)
  }
}

/** The request contradicts an earlier one (an idempotency key reused with another body). */
export class ConflictError extends ShopError {
  static override readonly code = 'SHOP_CONFLICT'
  override readonly status = 409
}

/** A staff route called without a bearer token (the API adds `WWW-Authenticate: Bearer`). */
export class UnauthorizedError extends ShopError {
  static override readonly code = 'SHOP_UNAUTHORIZED'
  override readonly status = 401
}

/** A staff route called with a token that is not the admin token. */
export class ForbiddenError extends ShopError {
  static override readonly code = 'SHOP_FORBIDDEN'
  override readonly status = 403
}

export class NotFoundError extends ShopError {
  static override readonly code = 'SHOP_NOT_FOUND'
  override readonly status = 404
}

export class TooLargeError extends ShopError {
  static override readonly code = 'SHOP_TOO_LARGE'
  override readonly status = 413
}

export class UnsupportedMediaTypeError extends ShopError {
  static override readonly code = 'SHOP_UNSUPPORTED_MEDIA_TYPE'
  override readonly status = 415
}

/** A notification a sink could not deliver after its retries; the record goes to the dead-letter topic. */
export class DeliveryError extends ShopError {
  static override readonly code = 'SHOP_DELIVERY'
}
