import { Elysia } from 'elysia'
import { PlaceOrder } from '../../../schemas/order.ts'
import { BadRequestError } from '../../errors.ts'
import { readJson } from '../body.ts'
import type { OrderIntake } from './intake.ts'
import type { OrderQueries } from './queries.ts'

/**
 * `POST /orders` (202 once the order is on `orders.created`), `GET /orders/{id}`, `GET /orders`
 * and `POST /orders/{id}/cancel`; see README for the contract.
 */
export function orderRoutes(intake: OrderIntake, queries: OrderQueries, ready: () => void) {
  return new Elysia({ name: 'shop:orders' })
    .post(
      '/orders',
      async ({ request, set }) => {
        ready()
        const key = request.headers.get('idempotency-key') ?? undefined
        if (key !== undefined && (key.length < 1 || key.length > 255)) {
          throw new BadRequestError('Idempotency-Key must be 1 to 255 characters', [{ path: 'header:Idempotency-Key', message: 'Expected 1 to 255 characters' }])
        }
        const order = await readJson(request, PlaceOrder)
        const { accepted, replayed } = await intake.place(order, key)
        set.status = 202
        set.headers.location = `/orders/${accepted.orderId}`
        if (replayed) set.headers['idempotent-replayed'] = 'true'
        return accepted
      },
      { parse: 'none' },
    )
    .get('/orders/:id', ({ params }) => queries.get(params.id))
    .get('/orders', ({ query }) => queries.list(query as Record<string, string | undefined>))
    .post(
      '/orders/:id/cancel',
      async ({ params, set }) => {
        ready()
        const answer = await queries.cancel(params.id)
        set.status = answer.cancel === 'requested' ? 202 : 200
        set.headers.location = `/orders/${params.id}`
        return answer
      },
      { parse: 'none' },
    )
}
