import { createHash } from 'node:crypto'
import { DeliveryError } from '../../../errors.ts'
import type { PaymentAnswer, PaymentCall, PaymentProvider } from './types.ts'

export interface SimulatorOptions {
  /** Charges above this amount are declined with reason `limit_exceeded`. */
  limit: number
  /** Share of calls that fail transiently (0 to 0.99). */
  failureRate: number
  seed: number
}

/**
 * A deterministic provider, for the embedded default and for tests:
 * - a charge above `limit` is declined, reason `limit_exceeded`; any other charge and every refund succeed;
 * - the n-th call with an idempotency key fails transiently when sha256(seed, key, n), read as a
 *   fraction, is below `failureRate`: the same seed fails the same calls, whatever the timing;
 * - like a real provider, it performs each idempotency key once and answers a repeat with the
 *   first answer; ids are derived from the key (`sim_ch_…`, `sim_re_…`).
 * `performed` counts the charges and refunds it performed, by key.
 */
export class PaymentSimulator implements PaymentProvider {
  readonly performed = new Map<string, number>()
  readonly #calls = new Map<string, number>()
  readonly #answers = new Map<string, PaymentAnswer>()

  constructor(private readonly options: SimulatorOptions) {}

  charge(call: PaymentCall): Promise<PaymentAnswer> {
    return this.#call(call, () => (call.amount > this.options.limit ? { ok: false, reason: 'limit_exceeded' } : { ok: true, id: `sim_ch_${digest(call.idempotencyKey).slice(0, 16)}` }))
  }

  refund(call: PaymentCall): Promise<PaymentAnswer> {
    return this.#call(call, () => ({ ok: true, id: `sim_re_${digest(call.idempotencyKey).slice(0, 16)}` }))
  }

  async #call(call: PaymentCall, decide: () => PaymentAnswer): Promise<PaymentAnswer> {
    const n = (this.#calls.get(call.idempotencyKey) ?? 0) + 1
    this.#calls.set(call.idempotencyKey, n)
    const draw = Number.parseInt(digest(`${this.options.seed}/${call.idempotencyKey}/${n}`).slice(0, 8), 16) / 0x1_0000_0000
    if (draw < this.options.failureRate) throw new DeliveryError(`payment simulator: transient failure of ${call.idempotencyKey} (call ${n})`, { retryable: true })
    const known = this.#answers.get(call.idempotencyKey)
    if (known) return known
    const answer = decide()
    this.#answers.set(call.idempotencyKey, answer)
    if (answer.ok) this.performed.set(call.idempotencyKey, (this.performed.get(call.idempotencyKey) ?? 0) + 1)
    return answer
  }
}

const digest = (text: string) => createHash('sha256').update(text).digest('hex')
