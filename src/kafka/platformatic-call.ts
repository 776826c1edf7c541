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

/** Wraps a broker call: a deadline, and failures mapped onto shop's errors. */
export async function call<T>(what: string, ms: number, promise: Promise<T>): Promise<T> {
  try {
    return await withDeadline(promise, ms, what)
  } catch (error) {
    if (isFencing(error)) throw new FencedError(`${what}: fenced`, { cause: error })
    if (error instanceof Error && 'code' in error && String(error.code).startsWith('SHOP_')) throw error
    throw new LogError(`${what} failed: ${(error as Error)?.message ?? error}`, { cause: error, retryable: true })
  }
}

