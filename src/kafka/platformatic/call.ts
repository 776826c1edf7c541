import { GenericError, findErrorBy } from '@platformatic/kafka'
import { FencedError, LogError, ShopError } from '../../errors.ts'
import { withDeadline } from '../../time.ts'

/** Protocol errors that mean "a newer instance took over": the work must not be retried by this one. */
const fencedBy = [
  ['producerFenced', true], // INVALID_PRODUCER_EPOCH
  ['apiId', 'PRODUCER_FENCED'],
  ['needsRejoin', true], // ILLEGAL_GENERATION, UNKNOWN_MEMBER_ID, REBALANCE_IN_PROGRESS, FENCED_INSTANCE_ID, ...
] as const

/** Client error codes no retry can cure: credentials, and what this broker does not support. */
const finalCodes = new Set(['PLT_KFK_AUTHENTICATION', 'PLT_KFK_UNSUPPORTED_API', 'PLT_KFK_UNSUPPORTED', 'PLT_KFK_UNSUPPORTED_COMPRESSION', 'PLT_KFK_UNSUPPORTED_FORMAT', 'PLT_KFK_USER'])

/**
 * Whether the client says a retry may succeed, by its own model: an error (or any error inside a
 * MultipleErrors) marked `canRetry: false`, or of a final kind, is final; network errors, timeouts
 * and retriable protocol errors are not.
 */
export function canRetry(error: unknown): boolean {
  if (!(error instanceof Error) || !GenericError.isGenericError(error)) return false
  if (findErrorBy(error, 'canRetry', false)) return false
  return ![...finalCodes].some((code) => findErrorBy(error, 'code', code))
}

/** True when the client error carries the Kafka protocol error `id` (e.g. 'TOPIC_ALREADY_EXISTS'), at any depth. */
export const hasProtocolError = (error: unknown, id: string): boolean => error instanceof Error && findErrorBy(error, 'apiId', id) !== null

/** The innermost reasons of a client error (protocol error names, else messages), deduplicated. */
function reasons(error: unknown, found = new Set<string>(), depth = 0): Set<string> {
  if (!error || typeof error !== 'object' || depth > 6) return found
  const e = error as { apiId?: string; message?: string; errors?: unknown[]; cause?: unknown }
  const inner = [...(e.errors ?? []), ...(e.cause ? [e.cause] : [])]
  if (e.apiId) found.add(e.apiId)
  else if (inner.length === 0 && e.message) found.add(e.message)
  for (const i of inner) reasons(i, found, depth + 1)
  return found
}

/**
 * Maps a client failure onto shop's errors: FencedError when the client says this instance is a
 * zombie, otherwise LogError, retryable exactly when the client says a retry may succeed.
 */
export function toShopError(what: string, error: unknown): ShopError {
  if (error instanceof ShopError) return error
  if (error instanceof Error && fencedBy.some(([property, value]) => findErrorBy(error, property, value))) {
    return new FencedError(`${what}: fenced`, { cause: error })
  }
  return new LogError(`${what} failed: ${[...reasons(error)].join('; ') || String(error)}`, { cause: error, retryable: canRetry(error) })
}

/** Wraps a broker call: a deadline (TimeoutError, retryable), and failures mapped by `toShopError`. */
export async function call<T>(what: string, ms: number, promise: Promise<T>): Promise<T> {
  try {
    return await withDeadline(promise, ms, what)
  } catch (error) {
    throw toShopError(what, error)
  }
}
