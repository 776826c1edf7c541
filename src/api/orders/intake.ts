import { createHash, randomUUID } from 'node:crypto'
import { encodeEvent } from '../../events/envelope.ts'
import { events } from '../../../schemas/events.ts'
import type { OrderCreatedV1, PlaceOrder } from '../../../schemas/order.ts'
import { BadRequestError, ConflictError, type FieldError, NotReadyError } from '../../errors.ts'
import type { LogProducer } from '../../kafka/port.ts'
import type { TopicView } from '../../state/topic-view.ts'
import type { TopicNames } from '../../topology.ts'

export interface Accepted {
  orderId: string
  status: 'pending'
}

/** What an idempotency key remembers: the body's fingerprint and the first answer. */
export interface IdempotencyEntry {
  fingerprint: string
  answer: Accepted
}

export interface OrderIntakeOptions {
  producer: LogProducer
  topics: TopicNames
  /** Every api process's keys, from the idempotency changelog. */
  keys: TopicView<IdempotencyEntry>
  /** Orders waiting for the broker's ack at most; more are refused (backpressure, never a queue). */
  maxInFlight: number
}

/**
 * Accepts orders: checks what the schema cannot (money in cents, total = sum of lines), honours
 * idempotency keys, and publishes `orders.created` keyed by user. Resolves only after the broker
 * acknowledged the record (acks=all, idempotent producer).
 */
export class OrderIntake {
  #inFlight = 0
  readonly #pending = new Map<string, Promise<Accepted>>()
  /** Keys this process wrote, until the view has read them back. */
  readonly #recent = new Map<string, IdempotencyEntry>()

  constructor(private readonly options: OrderIntakeOptions) {}

  async place(order: PlaceOrder, idempotencyKey?: string): Promise<{ accepted: Accepted; replayed: boolean }> {
    checkMoney(order)
    if (idempotencyKey === undefined) return { accepted: await this.#publish(order, randomUUID()), replayed: false }
    const fingerprint = createHash('sha256').update(canonicalJson(order)).digest('hex')
    for (;;) {
      const seen = this.#recent.get(idempotencyKey) ?? this.options.keys.get(idempotencyKey)
      if (seen) {
        if (seen.fingerprint !== fingerprint) throw new ConflictError('Idempotency-Key was already used with a different body')
        return { accepted: seen.answer, replayed: true }
      }
      const pending = this.#pending.get(idempotencyKey)
      if (!pending) break
      await pending.catch(() => {})
    }
    const publishing = this.#publishKeyed(order, idempotencyKey, fingerprint)
    this.#pending.set(idempotencyKey, publishing)
    try {
      return { accepted: await publishing, replayed: false }
    } finally {
      this.#pending.delete(idempotencyKey)
    }
  }

  /**
   * The order first, then the key: a crash in between leaves no key, and the retry publishes the
   * order again under the same orderId (derived from the key), which the OrderActor ignores.
   */
  async #publishKeyed(order: PlaceOrder, key: string, fingerprint: string): Promise<Accepted> {
    const orderId = uuidFrom(`shop:order:${key}`)
    const accepted = await this.#publish(order, orderId)
    const entry: IdempotencyEntry = { fingerprint, answer: accepted }
    await this.options.producer.send([{ topic: this.options.topics.idempotencyKeys, key, value: JSON.stringify(entry) }])
    this.#recent.set(key, entry)
    if (this.#recent.size > 10_000) this.#recent.delete(this.#recent.keys().next().value!)
    return accepted
  }

  async #publish(order: PlaceOrder, orderId: string): Promise<Accepted> {
    if (this.#inFlight >= this.options.maxInFlight) {
      throw new NotReadyError(`${this.#inFlight} orders are waiting for the broker; retry shortly`)
    }
    this.#inFlight++
    try {
      const event: OrderCreatedV1 = { orderId, ...order, createdAt: new Date().toISOString() }
      await this.options.producer.send([
        { topic: this.options.topics.ordersCreated, key: order.userId, ...encodeEvent(events.orderCreated, event, 'shop/api') },
      ])
      return { orderId, status: 'pending' }
    } finally {
      this.#inFlight--
    }
  }
}

const cents = (x: number) => Math.round(x * 100)
const hasCents = (x: number) => Math.abs(x * 100 - cents(x)) < 1e-6

/** Money rules the schema cannot express; BadRequestError naming each field at fault. */
export function checkMoney(order: PlaceOrder): void {
  const errors: FieldError[] = []
  order.items.forEach((item, i) => {
    if (!hasCents(item.unitPrice)) errors.push({ path: `/items/${i}/unitPrice`, message: 'Expected at most 2 decimals' })
  })
  if (!hasCents(order.total)) errors.push({ path: '/total', message: 'Expected at most 2 decimals' })
  const sum = order.items.reduce((s, item) => s + item.quantity * cents(item.unitPrice), 0)
  if (errors.length === 0 && sum !== cents(order.total)) {
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

/** A UUID-shaped id derived from `name` (same name, same id). */
function uuidFrom(name: string): string {
  const h = createHash('sha256').update(name).digest('hex')
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-5${h.slice(13, 16)}-${((parseInt(h[16], 16) & 3) | 8).toString(16)}${h.slice(17, 20)}-${h.slice(20, 32)}`
}
