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
  if ([...finalCodes].some((code) => findErrorBy(error, 'code', code))) return false
  return !someCode(error, (code) => refusedAccess.has(code))
}

/**
 * Refusals that the client files as retriable but no retry cures: the broker refused the
 * credentials or the principal's rights (protocol errors), or its certificate failed verification
 * (Node's TLS codes, inside the client's network error); each with what a user checks.
 */
const accessHints: Array<[string[], string]> = [
  [['SASL_AUTHENTICATION_FAILED', 'UNSUPPORTED_SASL_MECHANISM', 'ILLEGAL_SASL_STATE'], 'the broker refused the SASL login: check --kafka-sasl-mechanism, --kafka-sasl-username and --kafka-sasl-password'],
  [['CLUSTER_AUTHORIZATION_FAILED', 'TOPIC_AUTHORIZATION_FAILED', 'GROUP_AUTHORIZATION_FAILED', 'TRANSACTIONAL_ID_AUTHORIZATION_FAILED'], "the broker's ACLs do not allow this principal what shop needs: `shop acls User:<name>` lists it (README, ACLs)"],
  [['UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY', 'SELF_SIGNED_CERT_IN_CHAIN', 'DEPTH_ZERO_SELF_SIGNED_CERT', 'CERT_HAS_EXPIRED', 'CERT_NOT_YET_VALID', 'ERR_TLS_CERT_ALTNAME_INVALID'], "the broker's TLS certificate was not trusted: check --kafka-tls-ca and that the broker's certificate names the host in --brokers"],
]
const refusedAccess = new Set(accessHints.flatMap(([codes]) => codes))

/** Whether any error in the tree (nested `errors` and `cause`s) has a protocol id or code that `test` accepts. */
function someCode(error: unknown, test: (code: string) => boolean, depth = 0): boolean {
  if (!error || typeof error !== 'object' || depth > 8) return false
  const e = error as { apiId?: unknown; code?: unknown; errors?: unknown[]; cause?: unknown }
  if ((typeof e.apiId === 'string' && test(e.apiId)) || (typeof e.code === 'string' && test(e.code))) return true
  return [...(e.errors ?? []), e.cause].some((inner) => someCode(inner, test, depth + 1))
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
  const hint = accessHints.find(([codes]) => someCode(error, (code) => codes.includes(code)))?.[1]
  return new LogError(`${what} failed: ${[...reasons(error)].join('; ') || String(error)}${hint ? ` (${hint})` : ''}`, { cause: error, retryable: canRetry(error) })
}

/** Wraps a broker call: a deadline (TimeoutError, retryable), and failures mapped by `toShopError`. */
export async function call<T>(what: string, ms: number, promise: Promise<T>): Promise<T> {
  try {
    return await withDeadline(promise, ms, what)
  } catch (error) {
    throw toShopError(what, error)
  }
}
