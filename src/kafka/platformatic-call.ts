import { FencedError, LogError } from '../errors.ts'
import { withDeadline } from '../time.ts'

/** Kafka protocol errors that mean "you are a zombie": the commit must not be retried by this instance. */
const fencingErrors = new Set([
  'PRODUCER_FENCED',
  'INVALID_PRODUCER_EPOCH',
  'TRANSACTIONAL_ID_AUTHORIZATION_FAILED',
  'ILLEGAL_GENERATION',
  'UNKNOWN_MEMBER_ID',
  'FENCED_INSTANCE_ID',
  'REBALANCE_IN_PROGRESS',
  'INVALID_TXN_STATE',
])

function isFencing(error: unknown, depth = 0): boolean {
  if (!error || typeof error !== 'object' || depth > 5) return false
  const e = error as { apiId?: string; errors?: unknown[]; cause?: unknown }
  if (e.apiId && fencingErrors.has(e.apiId)) return true
  return (e.errors ?? []).some((inner) => isFencing(inner, depth + 1)) || isFencing(e.cause, depth + 1)
}

/** The innermost reasons of a platformatic error (protocol error names, else messages), deduplicated. */
function reasons(error: unknown, found = new Set<string>(), depth = 0): Set<string> {
  if (!error || typeof error !== 'object' || depth > 6) return found
  const e = error as { apiId?: string; message?: string; errors?: unknown[]; cause?: unknown }
  const inner = [...(e.errors ?? []), ...(e.cause ? [e.cause] : [])]
  if (e.apiId) found.add(e.apiId)
  else if (inner.length === 0 && e.message) found.add(e.message)
  for (const i of inner) reasons(i, found, depth + 1)
  return found
}

/** Wraps a broker call: a deadline, and failures mapped onto shop's errors. */
export async function call<T>(what: string, ms: number, promise: Promise<T>): Promise<T> {
  try {
    return await withDeadline(promise, ms, what)
  } catch (error) {
    if (isFencing(error)) throw new FencedError(`${what}: fenced`, { cause: error })
    if (error instanceof Error && 'code' in error && String(error.code).startsWith('SHOP_')) throw error
    throw new LogError(`${what} failed: ${[...reasons(error)].join('; ') || String(error)}`, { cause: error, retryable: true })
  }
}

