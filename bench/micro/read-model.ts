#!/usr/bin/env bun
/**
 * `bun bench/micro/read-model.ts [orders]`: CPU per projected step of the read model's `apply` on
 * an in-memory SQLite (the memory bus's), each of `orders` orders (default 20,000) going through
 * five statuses, the steps of different orders interleaved as on `order.status` and applied in
 * batches of 100. Figures quoted in src/read-model/sqlite-client.ts and sql.ts.
 */
import type { OrderStatusChanged } from '../../schemas/lifecycle.ts'
import { SqlReadModel } from '../../src/read-model/sql.ts'
import type { ProjectedStep } from '../../src/read-model/types.ts'

const orders = Number(process.argv[2] ?? 20_000)
const statuses = ['pending', 'reserved', 'paid', 'packed', 'shipped'] as const
const model = new SqlReadModel({ kind: 'sqlite', path: ':memory:' })
const at = new Date().toISOString()
let offset = 0n
let steps: ProjectedStep[] = []
const cpu = process.cpuUsage()
for (let i = 0; i < orders; i++) {
  // Order i's s-th status comes 20 orders after its previous one.
  statuses.forEach((status, s) => {
    const n = i - s * 20
    if (n < 0) return
    const change: OrderStatusChanged = { orderId: `order-${n}`, userId: `user-${n % 1000}`, status, at }
    if (status === 'pending') change.order = { items: [{ sku: 'sku-1', quantity: 2, unitPrice: 10 }, { sku: 'sku-2', quantity: 1, unitPrice: 5 }], total: 25, currency: 'EUR', createdAt: at }
    if (status === 'shipped') Object.assign(change, { carrier: 'DHL', trackingNumber: 'SHOP123' })
    steps.push({ offset: offset++, change })
  })
  if (steps.length >= 100) {
    await model.apply({ topic: 'order.status', partition: 0 }, steps)
    steps = []
  }
}
const used = process.cpuUsage(cpu)
console.log(`${offset} steps: ${((used.user + used.system) / Number(offset)).toFixed(2)} µs of CPU a step`)
await model.close()
