/** A charge or refund as the provider sees it. `idempotencyKey` makes a repeated call a no-op. */
export interface PaymentCall {
  orderId: string
  userId: string
  amount: number
  /** `charge:<orderId>` or `refund:<orderId>`: the provider performs each at most once. */
  idempotencyKey: string
}

/** The provider's answer: performed (with its id), or declined for a reason (nothing was charged). */
export type PaymentAnswer = { ok: true; id: string } | { ok: false; reason: string }

/**
 * The payment provider port. A call resolves with the provider's answer, or rejects when no answer
 * could be had (the dispatcher's record is then retried or dead-lettered, never guessed).
 * Adapters: `simulator` (default) and `http`.
 */
export interface PaymentProvider {
  charge(call: PaymentCall): Promise<PaymentAnswer>
  refund(call: PaymentCall): Promise<PaymentAnswer>
}
