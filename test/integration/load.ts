import { randomUUID } from 'node:crypto'
import { orderIdFor } from '../../src/api/orders/identity.ts'
import { random } from '../harness/random.ts'
import { sleep } from '../../src/time.ts'

export { setStock } from '../harness/stock.ts'

export interface LoadOptions {
  orders: number
  users: number
  skus: string[]
  concurrency: number
  seed?: number
  /** Pause of each worker between its requests. */
  pauseMs?: number
  /** Stops sending once it returns true (orders not yet sent are skipped). */
  stop?: () => boolean
  /** How long a request may take before the client gives up on it (default 10 s). */
  timeoutMs?: number
  /** Called with each order answered 202, as it is answered. */
  onAccepted?: (orderId: string) => void
}

/**
 * What the clients saw, by orderId. Every request carries an Idempotency-Key, so every order's id
 * is known to the client (`orderIdFor(userId, key)`), even when no answer came.
 */
export interface LoadResult {
  /** Answered 202: each must get exactly one outcome. */
  accepted: string[]
  /** Answered 503 SHOP_UNAVAILABLE or SHOP_NOT_READY, or the connection was refused: certainly not published, so never processed. */
  refused: string[]
  /** Answered 503 SHOP_OUTCOME_UNKNOWN, or no answer in time (then also in `unanswered`): processed at most once. */
  unknown: string[]
  /** Why each of `unknown` is: the 503, or the client's error when no answer came (ECONNRESET, a timeout, ...). */
  why: Record<string, string>
  /** No answer within `timeoutMs`: the API broke its promise to answer within --accept-timeout-ms. */
  unanswered: string[]
  /** Any other answer, as `status type` (a test expects none). */
  unexpected: string[]
}

/**
 * POSTs random orders (1 or 2 lines of distinct SKUs, 1 to 3 units each) to `url`, each with its
 * own Idempotency-Key, and sorts the answers (see LoadResult).
 */
export async function placeOrders(url: () => string, options: LoadOptions): Promise<LoadResult> {
  const next = random(options.seed ?? 42)
  const result: LoadResult = { accepted: [], refused: [], unknown: [], why: {}, unanswered: [], unexpected: [] }
  let sent = 0
  const worker = async () => {
    while (sent < options.orders && !options.stop?.()) {
      sent++
      const lines = next() < 0.5 ? 1 : 2
      const skus = [...options.skus].sort(() => next() - 0.5).slice(0, lines)
      const items = skus.map((sku) => ({ sku, quantity: 1 + Math.floor(next() * 3), unitPrice: 1 }))
      const body = { userId: `user-${Math.floor(next() * options.users)}`, items, total: items.reduce((n, i) => n + i.quantity, 0) }
      const key = randomUUID()
      const orderId = orderIdFor(body.userId, key)
      let refusedConnection = false
      let failure = 'no answer'
      const response = await fetch(`${url()}/orders`, {
        method: 'POST',
        body: JSON.stringify(body),
        headers: { 'content-type': 'application/json', 'idempotency-key': key },
        signal: AbortSignal.timeout(options.timeoutMs ?? 10_000),
      }).catch((error: { code?: string; name?: string }) => {
        // No process listened: the request never reached an api, so nothing can have been published.
        refusedConnection = error.code === 'ECONNREFUSED'
        failure = `no answer: ${error.code ?? error.name ?? String(error)}`
        return undefined
      })
      // The body is read at once, inside the same deadline: a body cut off is no answer.
      const text = await response?.text().catch((error: { code?: string; name?: string }) => {
        failure = `the answer cut off: ${error.code ?? error.name ?? String(error)}`
        return undefined
      })
      if (options.pauseMs) await sleep(options.pauseMs)
      if (!response || text === undefined) {
        if (refusedConnection) result.refused.push(orderId)
        else {
          result.unknown.push(orderId)
          result.why[orderId] = failure
          result.unanswered.push(orderId)
        }
        await sleep(20)
        continue
      }
      const answer = parseAnswer(text)
      if (response.status === 202 && answer.orderId === orderId) {
        result.accepted.push(orderId)
        options.onAccepted?.(orderId)
      } else if (response.status === 503 && answer.type === 'urn:shop:error:SHOP_OUTCOME_UNKNOWN') {
        result.unknown.push(orderId)
        result.why[orderId] = '503 SHOP_OUTCOME_UNKNOWN'
      } else if (response.status === 503 && (answer.type === 'urn:shop:error:SHOP_UNAVAILABLE' || answer.type === 'urn:shop:error:SHOP_NOT_READY')) {
        result.refused.push(orderId)
      } else {
        result.unexpected.push(`${response.status} ${answer.type ?? text.slice(0, 200)}`)
      }
      if (response.status !== 202) await sleep(20)
    }
  }
  await Promise.all(Array.from({ length: options.concurrency }, worker))
  return result
}

/** Each order without a certain answer, with why: what a test that expects none prints when it fails. */
export const unknownOrders = (result: LoadResult): string[] => result.unknown.map((id) => `${id}: ${result.why[id]}`)

function parseAnswer(text: string): { orderId?: string; type?: string } {
  try {
    return JSON.parse(text)
  } catch {
    return {}
  }
}
