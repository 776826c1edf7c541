import { random } from '../../test/harness/random.ts'
import { Samples } from './stats.ts'
import { eventually } from '../../test/harness/eventually.ts'

/** What the orders look like: many users, multi-line orders, a share that asks for sold-out stock. */
export interface OrderMix {
  users: number
  skus: number
  maxLines: number
  outOfStock: number
  seed: number
}

export const skuName = (i: number) => `SKU-${String(i).padStart(5, '0')}`
/** SKUs whose stock is 0: an order with one of them fails and releases its other lines. */
export const soldOutSkus = ['SOLD-OUT-1', 'SOLD-OUT-2', 'SOLD-OUT-3']

/** Stock that no in-stock SKU runs out of during `orders` orders (sold-out SKUs get 0). */
export function stockPlan(mix: OrderMix, orders: number): Record<string, number> {
  const perSku = Math.ceil(((orders * mix.maxLines * 3) / mix.skus) * 2) + 100
  const plan: Record<string, number> = {}
  for (let i = 1; i <= mix.skus; i++) plan[skuName(i)] = perSku
  for (const sku of soldOutSkus) plan[sku] = 0
  return plan
}

/** Returns a generator of `POST /orders` bodies (JSON), the same sequence for the same seed. */
export function orderBodies(mix: OrderMix): () => string {
  const next = random(mix.seed)
  const pick = (n: number) => Math.floor(next() * n)
  return () => {
    const lineCount = 1 + pick(Math.min(mix.maxLines, mix.skus))
    const skus = new Set<string>()
    while (skus.size < lineCount) skus.add(skuName(1 + pick(mix.skus)))
    if (next() < mix.outOfStock) {
      skus.delete(skus.values().next().value!)
      skus.add(soldOutSkus[pick(soldOutSkus.length)])
    }
    let cents = 0
    const items = [...skus].map((sku) => {
      const quantity = 1 + pick(3)
      const unitCents = 100 + pick(9_900)
      cents += quantity * unitCents
      return { sku, quantity, unitPrice: unitCents / 100 }
    })
    return JSON.stringify({ userId: `user-${pick(mix.users)}`, items, total: cents / 100 })
  }
}

/** What a load run saw from the client side; times are performance.now() milliseconds. */
export interface LoadResult {
  sent: number
  accepted: number
  /** Answers other than 202, by status ("error" when there was no answer). */
  refused: Record<string, number>
  /** Arrivals an open loop dropped because --max-in-flight requests were already waiting. */
  dropped: number
  /** POST -> 202, ms (from the intended send time in an open loop). */
  toAccepted: Samples
  startedAt: number
  lastAcceptedAt: number
}

export interface LoadTarget {
  url: string
  next: () => string
  /** Called with each accepted order's id and the time its request started (or was due). */
  onAccepted?: (orderId: string, startedAt: number) => void
}

function newResult(): LoadResult {
  return { sent: 0, accepted: 0, refused: {}, dropped: 0, toAccepted: new Samples(), startedAt: performance.now(), lastAcceptedAt: 0 }
}

async function post(target: LoadTarget, result: LoadResult, startedAt: number): Promise<void> {
  result.sent++
  const refused = (reason: string) => void (result.refused[reason] = (result.refused[reason] ?? 0) + 1)
  let response: Response
  try {
    response = await fetch(`${target.url}/orders`, {
      method: 'POST',
      body: target.next(),
      headers: { 'content-type': 'application/json' },
    })
  } catch (error) {
    // A request that got no answer is counted by what failed (`error ECONNRESET`).
    return refused(`error ${(error as { code?: string }).code ?? (error as Error).name}`)
  }
  if (response.status !== 202) {
    refused(String(response.status))
    return void (await response.body?.cancel())
  }
  const { orderId } = (await response.json()) as { orderId: string }
  const now = performance.now()
  result.accepted++
  result.lastAcceptedAt = now
  result.toAccepted.push(now - startedAt)
  target.onAccepted?.(orderId, startedAt)
}

/** Closed loop: `concurrency` workers, each sending its next order as soon as the last is answered. */
export async function closedLoop(target: LoadTarget, orders: number, concurrency: number, live?: (r: LoadResult) => void): Promise<LoadResult> {
  const result = newResult()
  live?.(result)
  const worker = async () => {
    while (result.sent < orders) await post(target, result, performance.now())
  }
  await Promise.all(Array.from({ length: Math.min(concurrency, orders) }, worker))
  return result
}

/**
 * Open loop: arrivals at a fixed `rate` per second for `durationMs`, whatever the answers take, so
 * slow answers cannot hide (no coordinated omission). Latency counts from when a request was due.
 */
export async function openLoop(target: LoadTarget, rate: number, durationMs: number, maxInFlight: number, live?: (r: LoadResult) => void): Promise<LoadResult> {
  const result = newResult()
  live?.(result)
  const total = Math.max(1, Math.round((rate * durationMs) / 1000))
  const interval = 1000 / rate
  const inFlight = new Set<Promise<void>>()
  for (let i = 0; i < total; i++) {
    const due = result.startedAt + i * interval
    const wait = due - performance.now()
    if (wait >= 1) await Bun.sleep(wait)
    if (inFlight.size >= maxInFlight) {
      result.dropped++
      continue
    }
    const request = post(target, result, due).finally(() => inFlight.delete(request))
    inFlight.add(request)
  }
  await Promise.all(inFlight)
  return result
}

/**
 * Matches notifications (stdout lines of the console sink) to accepted orders, to time POST ->
 * notification. A notification can be read before its order's 202: it waits here for its 202.
 */
export class Completions {
  readonly toNotified = new Samples()
  readonly outcomes: Record<string, number> = {}
  lastAt = 0
  #started = new Map<string, number>()
  #early = new Map<string, number>()

  get completed(): number {
    return this.toNotified.length
  }

  get waiting(): number {
    return this.#started.size
  }

  accepted(orderId: string, startedAt: number): void {
    const notifiedAt = this.#early.get(orderId)
    if (notifiedAt === undefined) this.#started.set(orderId, startedAt)
    else {
      this.#early.delete(orderId)
      this.#complete(notifiedAt - startedAt, notifiedAt)
    }
  }

  /** Feeds one stdout line of the notifier. */
  line(line: string): void {
    if (!line.startsWith('{"event":"notification"')) return
    const now = performance.now()
    const { orderId, status } = JSON.parse(line) as { orderId: string; status: string }
    // An order completes with its first outcome (reserved or out of stock); later steps of its life
    // (shipped, cancelled) are told too, but do not count again.
    if (status !== 'reserved' && status !== 'out_of_stock') return
    this.outcomes[status] = (this.outcomes[status] ?? 0) + 1
    const startedAt = this.#started.get(orderId)
    if (startedAt === undefined) this.#early.set(orderId, now)
    else {
      this.#started.delete(orderId)
      this.#complete(now - startedAt, now)
    }
  }

  #complete(ms: number, at: number): void {
    this.toNotified.push(ms)
    this.lastAt = at
  }

  /** Resolves once every accepted order is notified, or after `ms` (then `waiting` says how many are not). */
  async drain(ms: number, tick?: () => void): Promise<void> {
    await eventually(() => {
      tick?.()
      if (this.#started.size > 0) throw new Error('orders still waiting')
    }, ms, 50).catch(() => {})
  }
}
