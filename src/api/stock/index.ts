import { Type } from '@sinclair/typebox'
import { compiledSchema } from '../../events/check.ts'
import { Elysia } from 'elysia'
import type { StockAccepted } from '../../../schemas/api.ts'
import { Sku, type StockLevel, StockUpdate } from '../../../schemas/inventory.ts'
import { BadRequestError, NotFoundError } from '../../errors.ts'
import type { LogProducer } from '../../kafka/port.ts'
import type { TopicView } from '../../state/topic-view.ts'
import type { TopicNames } from '../../topology.ts'
import type { AdminCheck } from '../admin.ts'
import { readJson } from '../body.ts'
import { requestStockLevel } from './service.ts'

export interface StockRoutesOptions {
  producer: LogProducer
  topics: TopicNames
  view: TopicView<StockLevel>
  ready: () => void
  /** Staff only: `PUT` needs the admin token. */
  admin: AdminCheck
}

/**
 * `PUT /stock/{sku}` (staff: 202, the level is on its way to the SKU's InventoryActor) and
 * `GET /stock/{sku}` (the stock changelog as this process has read it; 404 for an unknown SKU).
 */
export function stockRoutes({ producer, topics, view, ready, admin }: StockRoutesOptions) {
  const checkSku = (sku: string) => {
    if (!compiledSchema(Sku).Check(sku)) throw new BadRequestError('SKU must be 1 to 64 of A-Z a-z 0-9 . _ : -', [{ path: 'path:sku', message: 'Expected a SKU' }])
  }
  return new Elysia({ name: 'shop:stock' })
    .put(
      '/stock/:sku',
      async ({ params, request, set }) => {
        admin(request)
        ready()
        checkSku(params.sku)
        const { quantity } = await readJson(request, StockUpdate)
        await requestStockLevel(producer, topics, params.sku, quantity, 'shop/api')
        set.status = 202
        return { sku: params.sku, available: quantity, status: 'accepted' } satisfies StockAccepted
      },
      { parse: 'none', params: Type.Object({ sku: Type.String() }) },
    )
    .get('/stock/:sku', ({ params }) => {
      ready()
      checkSku(params.sku)
      const level = view.get(params.sku)
      if (!level) throw new NotFoundError(`no stock recorded for SKU ${params.sku}`)
      return { sku: params.sku, available: level.available, reserved: level.reserved } satisfies StockLevel
    })
}
