import { decodeEvent, eventRecord } from '../../events/envelope.ts'
import { events } from '../../../schemas/events.ts'
import { DeliveryError } from '../../errors.ts'
import { type RetryPolicy, withRetries } from '../../outbound/post-json.ts'
import type { TopicNames } from '../../topology.ts'
import type { StepHandler } from '../runtime/transactional/types.ts'
import type { PaymentProvider } from './providers/types.ts'
import type { Metrics } from '../../observability/metrics.ts'

/**
 * The payment dispatcher of one partition of `payment.requests`: the outbox of charges and
 * refunds that the OrderActor commits with its steps. It performs each request with the provider,
 * idempotency key `charge:<orderId>` (or `refund:<orderId>`), and publishes the answer
 * (`payment.processed`, `payment.failed`, `payment.refunded`) in one transaction with the request's
 * offset. A crash between the call and the commit repeats the call with the same key, which the
 * provider performs once: the order is charged at most once, and exactly one answer is published.
 * Requests of a batch are performed side by side; transient failures are retried under `retry`.
 */
export function paymentHandler(topics: TopicNames, provider: PaymentProvider, retry: RetryPolicy, source: string, metrics: Metrics): StepHandler {
  return {
    stores: {},
    concurrent: true,
    async handle(record, ctx) {
      const request = decodeEvent(events.paymentRequest, record)
      const call = { orderId: request.orderId, userId: request.userId, amount: request.amount, idempotencyKey: `${request.type}:${request.orderId}` }
      const answer = await withRetries(`payment ${call.idempotencyKey}`, retry, () => (request.type === 'charge' ? provider.charge(call) : provider.refund(call))).catch((error) => {
        metrics.paymentCalls.inc({ kind: request.type, result: 'failed' })
        throw error
      })
      metrics.paymentCalls.inc({ kind: request.type, result: answer.ok ? 'performed' : 'declined' })
      const { orderId, userId, amount } = request
      if (request.type === 'refund') {
        // A refund of a charge the provider holds cannot be declined: if it is, people must look.
        if (!answer.ok) throw new DeliveryError(`refund ${orderId} was declined: ${answer.reason}`)
        ctx.send(eventRecord(topics.paymentRefunded, events.paymentRefunded, { orderId, userId, amount, refundId: answer.id }, source))
      } else if (answer.ok) {
        ctx.send(eventRecord(topics.paymentProcessed, events.paymentProcessed, { orderId, userId, amount, paymentId: answer.id }, source))
      } else {
        ctx.send(eventRecord(topics.paymentFailed, events.paymentFailed, { orderId, userId, amount, reason: answer.reason }, source))
      }
    },
  }
}
