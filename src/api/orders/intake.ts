import { createHash, randomUUID } from 'node:crypto'
import { eventRecord } from '../../events/envelope.ts'
import { annotate, sendSpans, sent } from '../../observability/tracing.ts'
import type { OrderAccepted } from '../../../schemas/api.ts'
import { events } from '../../../schemas/events.ts'
import type { CancelRequest } from '../../../schemas/lifecycle.ts'
import { type OrderCreatedV1, type PlaceOrder, defaultCurrency, toCents } from '../../../schemas/order.ts'
import { BadRequestError, ConflictError, type FieldError, NotReadyError, ShopError } from '../../errors.ts'
import type { ProduceRecord } from '../../kafka/types.ts'
import type { TopicView } from '../../state/topic-view.ts'
import type { TopicNames } from '../../topology.ts'
import { orderIdFor } from './identity.ts'
import type { Metrics } from '../../observability/metrics.ts'
import type { TransactionalPublisher } from './publisher.ts'
import { nowIso } from '../../time.ts'
import { BoundedMap } from '../../bounded-map.ts'

/**
 * What an idempotency key remembers: the body's fingerprint, the first answer, and when. Every
 * accepted order has one (a keyless request's generated key too): it is how every api process
 * knows an order it accepted before the read model has it.
 */
export interface IdempotencyEntry {
  /** Absent in entries written before it was added. */
  userId?: string
  fingerprint: string
  answer: OrderAccepted
  /** Milliseconds since the epoch when the key was first used; it expires a window later. */
  at: number
}

export interface OrderIntakeOptions {
  publisher: TransactionalPublisher
  topics: TopicNames
  /** Every api process's keys, from the idempotency changelog (key: `idempotencyTopicKey`). */
  keys: TopicView<IdempotencyEntry>
  /** Orders waiting for the broker at most; more are refused at once (backpressure, never a queue). */
  maxInFlight: number
  /** How long a request waits for the broker before it is answered 503. */
  acceptTimeoutMs: number
  /** How long an Idempotency-Key is remembered. */
  idempotencyTtlMs: number
  /** Orders not yet taken by the order group; null while unknown. Beyond `maxBacklog`, 503. */
  backlog: () => number | null
  maxBacklog: number
  /** The version of the order event written (`--order-schema-version`). */
  orderSchemaVersion: 1 | 2
  metrics: Metrics
}

/** The record key of an idempotency entry: keys are scoped per user. */
export const idempotencyTopicKey = (userId: string, key: string) => JSON.stringify([userId, key])

/**
 * Accepts orders: checks what the schema cannot (money in whole cents, total = sum of lines),
 * gives the order its identity before anything is published (`orderIdFor(userId, key)`; a request
 * without an Idempotency-Key gets a fresh key), and publishes `orders.created` keyed by user in a
 * Kafka transaction together with the key's entry. The answer is 202 once that transaction
 * committed; 503 with the orderId and the key to retry with otherwise. A retry with the same key
 * lands once: the OrderActor of the user's partition ignores an orderId it has seen.
 */
export class OrderIntake {
  #inFlight = 0
  readonly #pending = new Map<string, Promise<OrderAccepted>>()
  /** Keys this process wrote, until the view has read them back (the last 10,000). */
  readonly #recent = new BoundedMap<string, IdempotencyEntry>(10_000)
  /** orderId -> userId of the orders this process accepted, as long as `#recent` holds their keys. */
  readonly #recentOrders = new Map<string, string>()

  constructor(private readonly options: OrderIntakeOptions) {
    const { metrics } = options
    metrics.producerInFlightLimit.set(options.maxInFlight)
    metrics.orderBacklogLimit.set(options.maxBacklog)
    for (const reason of ['in_flight', 'backlog']) metrics.ordersRefused.inc({ reason }, 0)
    metrics.onScrape(() => {
      metrics.producerInFlight.set(this.#inFlight)
      const backlog = options.backlog()
      if (backlog !== null) metrics.orderBacklog.set(backlog)
    })
  }

  async place(order: PlaceOrder, clientKey?: string): Promise<{ accepted: OrderAccepted; replayed: boolean }> {
    checkMoney(order)
    this.#admit()
    const key = clientKey ?? randomUUID()
    const topicKey = idempotencyTopicKey(order.userId, key)
    const fingerprint = createHash('sha256').update(canonicalJson(order)).digest('hex')
    while (clientKey !== undefined) {
      const seen = this.#remembered(topicKey)
      if (seen) {
        if (seen.fingerprint !== fingerprint) throw new ConflictError('Idempotency-Key was already used with a different body')
        return { accepted: seen.answer, replayed: true }
      }
      const pending = this.#pending.get(topicKey)
      if (!pending) break
      await pending.catch(() => {})
    }
    const publishing = this.#publish(order, key, { topicKey, fingerprint })
    this.#pending.set(topicKey, publishing)
    try {
      const accepted = await publishing
      this.options.metrics.ordersAccepted.inc()
      return { accepted, replayed: false }
    } finally {
      this.#pending.delete(topicKey)
    }
  }

  /**
   * Publishes a customer's cancel of `orderId` (of `userId`) to `order.cancel-requests`, in a
   * transaction like an order; the OrderActor, the order's single writer, decides. Answers like
   * `place`: resolved once committed, UnavailableError or OutcomeUnknownError otherwise (a cancel
   * published twice is decided once).
   */
  async requestCancel(orderId: string, userId: string): Promise<void> {
    this.#admit()
    const request: CancelRequest = { orderId, userId, requestedAt: nowIso() }
    annotate({ 'shop.order.id': orderId })
    await this.#send([eventRecord(this.options.topics.cancelRequests, events.cancelRequest, request, 'shop/api')], 1)
  }

  /**
   * Publishes `records` in one transaction within --accept-timeout-ms, counted in flight; the
   * first `traced` of them are the events the request's trace goes on with (their send spans'
   * traceparent travels in their headers).
   */
  async #send(records: ProduceRecord[], traced: number): Promise<void> {
    const sending = sendSpans(records.slice(0, traced))
    this.#inFlight++
    try {
      sent(sending, await this.options.publisher.publish(records, Date.now() + this.options.acceptTimeoutMs))
    } catch (error) {
      sent(sending, undefined, error)
      throw error
    } finally {
      this.#inFlight--
    }
  }

  /** An order this api, or any other, accepted (known before the read model has it): its user. */
  accepted(orderId: string): { userId: string } | undefined {
    const userId = this.#recentOrders.get(orderId)
    if (userId !== undefined) return { userId }
    const entry = this.options.keys.find(orderId)
    return entry?.userId === undefined ? undefined : { userId: entry.userId }
  }

  #remembered(topicKey: string): IdempotencyEntry | undefined {
    const entry = this.#recent.get(topicKey) ?? this.options.keys.get(topicKey)
    if (!entry || Date.now() - entry.at >= this.options.idempotencyTtlMs) return undefined
    return entry
  }

  /** Refuses at once what the process should not take: too many orders waiting, or a pipeline too far behind. */
  #admit(): void {
    if (this.#inFlight >= this.options.maxInFlight) {
      this.options.metrics.ordersRefused.inc({ reason: 'in_flight' })
      throw new NotReadyError(`${this.#inFlight} orders are waiting for the broker; retry shortly`)
    }
    const backlog = this.options.backlog()
    if (backlog !== null && backlog > this.options.maxBacklog) {
      this.options.metrics.ordersRefused.inc({ reason: 'backlog' })
      throw new NotReadyError(`${backlog} orders are waiting to be processed (limit ${this.options.maxBacklog}); retry shortly`)
    }
  }

  /**
   * The order event in the version this process writes (`--order-schema-version`): 2 with the
   * currency, or 1 during a rolling upgrade, while some reader may not read 2 yet. Version 1 has no
   * currency, so it can only carry an order in EUR (what every version-1 order was).
   */
  #orderRecord(orderId: string, order: PlaceOrder): ProduceRecord {
    const createdAt = nowIso()
    const topic = this.options.topics.ordersCreated
    const currency = order.currency ?? defaultCurrency
    if (this.options.orderSchemaVersion === 2) return eventRecord(topic, events.orderCreated, { orderId, ...order, currency, createdAt }, 'shop/api')
    if (currency !== defaultCurrency) {
      throw new BadRequestError(`this api writes orders in version 1 of the order event (--order-schema-version=1), which has no currency: only ${defaultCurrency} orders are taken`, [{ path: '/currency', message: `Expected ${defaultCurrency} or no currency` }])
    }
    const v1: OrderCreatedV1 = { orderId, userId: order.userId, items: order.items, total: order.total, createdAt }
    return eventRecord(topic, events.orderCreated, v1, 'shop/api', { version: 1 })
  }

  /** The order and, for a client's key, its entry, in one transaction. */
  async #publish(order: PlaceOrder, key: string, remember: { topicKey: string; fingerprint: string }): Promise<OrderAccepted> {
    const orderId = orderIdFor(order.userId, key)
    const accepted: OrderAccepted = { orderId, status: 'pending' }
    const records: ProduceRecord[] = [this.#orderRecord(orderId, order)]
    const entry: IdempotencyEntry = { userId: order.userId, fingerprint: remember.fingerprint, answer: accepted, at: Date.now() }
    records.push({ topic: this.options.topics.idempotencyKeys, key: remember.topicKey, value: JSON.stringify(entry) })
    annotate({ 'shop.order.id': orderId })
    try {
      // The order event goes on with the trace; the idempotency entry is bookkeeping.
      await this.#send(records, 1)
    } catch (error) {
      // The client learns which order this was and the key that makes a retry land once.
      if (error instanceof ShopError) throw withRetryIdentity(error, orderId, key)
      throw error
    }
    const forgotten = this.#recent.set(remember.topicKey, entry)?.[1]
    this.#recentOrders.set(orderId, order.userId)
    if (forgotten) this.#recentOrders.delete(forgotten.answer.orderId)
    return accepted
  }
}

function withRetryIdentity(error: ShopError, orderId: string, idempotencyKey: string): ShopError {
  Object.assign(error.extensions, { orderId, idempotencyKey })
  return error
}

/** Whole cents: the value is the double nearest to a number with at most 2 decimals. */
const isWholeCents = (x: number) => toCents(x) / 100 === x

/** Money rules the schema cannot express, computed in integer cents; BadRequestError naming each field at fault. */
export function checkMoney(order: PlaceOrder): void {
  const errors: FieldError[] = []
  order.items.forEach((item, i) => {
    if (!isWholeCents(item.unitPrice)) errors.push({ path: `/items/${i}/unitPrice`, message: 'Expected at most 2 decimals' })
  })
  if (!isWholeCents(order.total)) errors.push({ path: '/total', message: 'Expected at most 2 decimals' })
  const sum = order.items.reduce((s, item) => s + item.quantity * toCents(item.unitPrice), 0)
  if (errors.length === 0 && sum !== toCents(order.total)) {
    errors.push({ path: '/total', message: `Expected the sum of quantity x unitPrice over the items, ${(sum / 100).toFixed(2)}` })
  }
  if (errors.length > 0) throw new BadRequestError(`${errors[0].path}: ${errors[0].message}`, errors)
}

/** JSON with object keys sorted: equal bodies give equal fingerprints whatever their key order. */
function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`
  if (value && typeof value === 'object') {
    const entries = Object.keys(value).sort().map((k) => `${JSON.stringify(k)}:${canonicalJson((value as Record<string, unknown>)[k])}`)
    return `{${entries.join(',')}}`
  }
  return JSON.stringify(value)
}
