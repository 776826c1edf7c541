import { type Static, Type } from '@sinclair/typebox'
import type { CancelAnswer, OrderDetails, OrderPage } from '../../../schemas/api.ts'
import { OrderStatus, finalStatuses } from '../../../schemas/lifecycle.ts'
import { BadRequestError, ConflictError, NotFoundError } from '../../errors.ts'
import type { OrderQuery, ReadModel } from '../../read-model/types.ts'
import type { OrderIntake } from './intake.ts'
import { readQuery } from '../body.ts'

/** The query string of `GET /orders`. */
export const OrderListQuery = Type.Object(
  {
    status: Type.Optional(OrderStatus),
    userId: Type.Optional(Type.String({ minLength: 1, maxLength: 128 })),
    limit: Type.Optional(Type.String({ pattern: '^(100|[1-9][0-9]?)$', description: '1 to 100 (default 20)' })),
    cursor: Type.Optional(Type.String({ minLength: 1, maxLength: 512, description: 'the `next` of the previous page' })),
  },
  { additionalProperties: false },
)
export type OrderListQuery = Static<typeof OrderListQuery>

/**
 * What the API answers about orders, from the read model, and the cancel decision it can take
 * before the OrderActor does. An order the API accepted is never unknown: until the projector has
 * it, it is `pending` (every api process knows it from the idempotency topic).
 */
export class OrderQueries {
  constructor(
    private readonly readModel: () => ReadModel,
    private readonly intake: OrderIntake,
  ) {}

  async get(orderId: string): Promise<OrderDetails> {
    const found = await this.readModel().get(orderId)
    if (found) return { ...found.order, history: found.history }
    const accepted = this.intake.accepted(orderId)
    if (!accepted) throw new NotFoundError(`no order ${orderId}`)
    return { orderId, userId: accepted.userId, status: 'pending' as const, history: [] }
  }

  async list(query: Record<string, string | undefined>): Promise<OrderPage> {
    const params = readQuery(query, OrderListQuery)
    const limit = Number(params.limit ?? 20)
    const request: OrderQuery = { status: params.status, userId: params.userId, limit: limit + 1, after: params.cursor ? decodeCursor(params.cursor) : undefined }
    const page = await this.readModel().list(request)
    const orders = page.slice(0, limit)
    const last = orders.at(-1)
    return { orders, next: page.length > limit && last ? encodeCursor(last.createdAt, last.orderId) : null }
  }

  /**
   * `POST /orders/{id}/cancel`: refused with 409 once the order is final or with the shipper;
   * otherwise the cancel goes to the OrderActor, which decides in the order's own sequence (an
   * order shipped meanwhile keeps its status, and the refusal is in its history).
   */
  async cancel(orderId: string): Promise<CancelAnswer> {
    const found = await this.readModel().get(orderId)
    const status = found?.order.status ?? 'pending'
    const userId = found?.order.userId ?? this.intake.accepted(orderId)?.userId
    if (!userId) throw new NotFoundError(`no order ${orderId}`)
    if (status === 'cancelled') return { orderId, status, cancel: 'done' }
    if (finalStatuses.has(status) || status === 'packed') {
      throw new ConflictError(`order ${orderId} is ${status}; it can no longer be cancelled`, { extensions: { orderId, orderStatus: status } })
    }
    await this.intake.requestCancel(orderId, userId)
    return { orderId, status, cancel: 'requested' }
  }
}

const encodeCursor = (createdAt: string, orderId: string) => Buffer.from(JSON.stringify([createdAt, orderId])).toString('base64url')

function decodeCursor(cursor: string): { createdAt: string; orderId: string } {
  try {
    const [createdAt, orderId] = JSON.parse(Buffer.from(cursor, 'base64url').toString()) as unknown[]
    if (typeof createdAt === 'string' && typeof orderId === 'string') return { createdAt, orderId }
  } catch {}
  throw new BadRequestError('bad query: cursor: not a cursor this API gave', [{ path: 'query:cursor', message: 'Expected the next of a previous page' }])
}
