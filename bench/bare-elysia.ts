/**
 * The HTTP baseline: a bare Elysia endpoint that parses the JSON body and answers 202, with no
 * validation, no Kafka and no state. It announces its address as shop does (a `shop:start` JSON
 * line on stderr), so the bench starts it like any shop process.
 */
import { Elysia } from 'elysia'

const app = new Elysia()
  .post('/orders', ({ body, set }) => {
    set.status = 202
    return { orderId: crypto.randomUUID(), status: 'pending', lines: (body as { items?: unknown[] }).items?.length ?? 0 }
  })
  .listen({ hostname: '127.0.0.1', port: 0 })

process.stderr.write(`${JSON.stringify({ event: 'shop:start', url: `http://127.0.0.1:${app.server!.port}` })}\n`)
