import { random } from '../harness/random.ts'
import { eventually } from '../harness/eventually.ts'

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
}

/**
 * POSTs random orders (1 or 2 lines of distinct SKUs, 1 to 3 units each) to `url`. Returns the ids
 * of the orders answered 202, and how many requests got anything else (a refusal or no answer).
 */
export async function placeOrders(url: () => string, options: LoadOptions): Promise<{ accepted: string[]; refused: number }> {
  const next = random(options.seed ?? 42)
  const accepted: string[] = []
  let refused = 0
  let sent = 0
  const worker = async () => {
    while (sent < options.orders && !options.stop?.()) {
      sent++
      const lines = next() < 0.5 ? 1 : 2
      const skus = [...options.skus].sort(() => next() - 0.5).slice(0, lines)
      const items = skus.map((sku) => ({ sku, quantity: 1 + Math.floor(next() * 3), unitPrice: 1 }))
      const body = { userId: `user-${Math.floor(next() * options.users)}`, items, total: items.reduce((n, i) => n + i.quantity, 0) }
      const response = await fetch(`${url()}/orders`, { method: 'POST', body: JSON.stringify(body), headers: { 'content-type': 'application/json' } }).catch(() => undefined)
      if (options.pauseMs) await Bun.sleep(options.pauseMs)
      if (response?.status === 202) accepted.push(((await response.json()) as { orderId: string }).orderId)
      else {
        refused++
        await response?.body?.cancel()
        await Bun.sleep(20)
      }
    }
  }
  await Promise.all(Array.from({ length: options.concurrency }, worker))
  return { accepted, refused }
}

/** Polls `check` (a list of problems) until it is empty or `ms` pass; returns the last result. */
export async function settle<T extends { problems: string[] }>(check: () => Promise<T>, ms: number): Promise<T> {
  let last: T | undefined
  return eventually(async () => {
    last = await check()
    if (last.problems.length > 0) throw new Error('not settled')
    return last
  }, ms, 1000).catch(() => last!)
}
