import { openapi } from '@elysiajs/openapi'
import type { TSchema } from '@sinclair/typebox'
import { Alive, CancelAnswer, OrderAccepted, OrderDetails, OrderPage, OrderRatePage, Problem, Ready, StockAccepted, StockLevel } from '../../schemas/api.ts'
import { Sku, StockUpdate } from '../../schemas/inventory.ts'
import { ConsoleState, DeadLetterReplayed } from '../../schemas/console.ts'
import { PlaceOrder } from '../../schemas/order.ts'
import packageJson from '../../package.json' with { type: 'json' }
import { maxBodyBytes } from './body.ts'
import { OrderListQuery } from './orders/queries.ts'
import { OrderRateQuery } from './analytics/index.ts'

/**
 * The OpenAPI 3.1 document of the HTTP API, built from the TypeBox schemas that check requests
 * (schemas/order.ts, inventory.ts, OrderListQuery) and type the answers (schemas/api.ts). Routes
 * read their bodies themselves (for 413/415 before parsing), so the document is written here, one
 * operation per route; the app test checks that every route is here and answers what it says.
 */

const json = (schema: TSchema, description: string, headers?: Record<string, unknown>) => ({
  description,
  ...(headers ? { headers } : {}),
  content: { 'application/json': { schema } },
})
const problem = (description: string, headers?: Record<string, unknown>) => ({
  description,
  ...(headers ? { headers } : {}),
  content: { 'application/problem+json': { schema: Problem } },
})
const text = (type: string, description: string) => ({ description, content: { [type]: { schema: { type: 'string' } } } })
const header = (description: string) => ({ description, schema: { type: 'string' } })
const retryAfter = { 'Retry-After': header('seconds to wait before retrying') }
const location = { Location: header("the order's URL, `/orders/{id}`") }

const unavailable = problem('the broker or the pipeline cannot take it now (backpressure, broker away, shutting down); safe to retry', retryAfter)
const badBody = {
  400: problem('malformed JSON, or a body the schema refuses (`errors` names every field at fault)'),
  413: problem(`body larger than ${maxBodyBytes} bytes`),
  415: problem('Content-Type is not application/json'),
}
const orderId = { name: 'id', in: 'path', required: true, schema: { type: 'string' } }

/** The JSON body a route reads. */
const body = (schema: TSchema) => ({ required: true, content: { 'application/json': { schema } } })

export const paths = {
  '/orders': {
    post: {
      tags: ['orders'],
      summary: 'Place an order',
      description:
        'Answers 202 once the order is committed to `orders.created`; a refused request publishes nothing. With the same `Idempotency-Key` and body, a retry answers the first answer and places nothing more.',
      parameters: [
        { name: 'Idempotency-Key', in: 'header', required: false, schema: { type: 'string', minLength: 1, maxLength: 255 }, description: 'makes retries safe (kept 24 h)' },
      ],
      requestBody: body(PlaceOrder),
      responses: {
        202: json(OrderAccepted, 'accepted: the order is on its way', { ...location, 'Idempotent-Replayed': header('`true` when this answers an earlier request with the same key') }),
        ...badBody,
        409: problem('the Idempotency-Key was used with a different body'),
        503: unavailable,
      },
    },
    get: {
      tags: ['orders'],
      summary: 'List orders, newest first',
      description: 'Keyset pagination: pass the `next` of a page as `cursor` for the following one.',
      parameters: Object.entries(OrderListQuery.properties).map(([name, schema]) => ({ name, in: 'query', required: false, schema })),
      responses: { 200: json(OrderPage, 'a page of orders'), 400: problem('a query parameter out of range or unknown'), 503: unavailable },
    },
  },
  '/orders/{id}': {
    get: {
      tags: ['orders'],
      summary: "An order's status, lines and history",
      description: 'An order the API accepted is never 404: before the read model has it, it is `pending`.',
      parameters: [orderId],
      responses: { 200: json(OrderDetails, 'the order'), 404: problem('no such order'), 503: unavailable },
    },
  },
  '/orders/{id}/cancel': {
    post: {
      tags: ['orders'],
      summary: 'Cancel an order',
      description: 'Allowed until the order is packed: releases its stock and refunds a payment. The OrderActor decides in the order\'s own sequence; follow it with `GET /orders/{id}`.',
      parameters: [orderId],
      responses: {
        202: json(CancelAnswer, 'the cancel is requested', location),
        200: json(CancelAnswer, 'the order already is cancelled', location),
        404: problem('no such order'),
        409: problem('the order is packed, shipped or failed: it can no longer be cancelled (`orderStatus` says which)'),
        503: unavailable,
      },
    },
  },
  '/stock/{sku}': {
    put: {
      tags: ['stock'],
      summary: "Set a SKU's available stock",
      description: 'For staff: needs `Authorization: Bearer <admin token>` when the process has one (`--admin-token`; the prod profile requires it).',
      security: [{ adminToken: [] }],
      parameters: [{ name: 'sku', in: 'path', required: true, schema: Sku }],
      requestBody: body(StockUpdate),
      responses: {
        202: json(StockAccepted, "the level is on its way to the SKU's InventoryActor"),
        ...badBody,
        401: problem('no bearer token', { 'WWW-Authenticate': header('`Bearer realm="shop"`') }),
        403: problem('the bearer token is not the admin token'),
        503: unavailable,
      },
    },
    get: {
      tags: ['stock'],
      summary: "A SKU's available and reserved stock",
      parameters: [{ name: 'sku', in: 'path', required: true, schema: Sku }],
      responses: { 200: json(StockLevel, 'the stock changelog as this process has read it'), 400: problem('not a SKU'), 404: problem('no stock recorded for the SKU') },
    },
  },
  '/analytics/order-rate': {
    get: {
      tags: ['analytics'],
      summary: 'Orders per minute',
      description:
        'The tumbling one-minute windows of `metrics.order.rate` (by the orders\' own time) starting in [from, to), oldest first: orders, confirmed, failed, revenue of the confirmed, late records, and whether the window is final.',
      parameters: Object.entries(OrderRateQuery.properties).map(([name, schema]) => ({ name, in: 'query', required: false, schema })),
      responses: { 200: json(OrderRatePage, 'the windows'), 400: problem('`from` or `to` is not a time, `from` is after `to`, or the range is longer than 7 days'), 503: unavailable },
    },
  },
  '/console': {
    get: { tags: ['console'], summary: 'The operator console (a web page)', responses: { 200: text('text/html', 'the page; its script and styles are the two routes below') } },
  },
  '/console/console.js': { get: { tags: ['console'], summary: "The console's script", responses: { 200: text('text/javascript', 'the script') } } },
  '/console/console.css': { get: { tags: ['console'], summary: "The console's styles", responses: { 200: text('text/css', 'the styles') } } },
  '/console/state': {
    get: {
      tags: ['console'],
      summary: 'What the console shows',
      description: 'Orders accepted and completed per second with end-to-end latency (from `order.status`), the newest orders, stock, consumer lag per group, every process\'s roles and health (from `shop-processes`) and the newest dead letters.',
      responses: { 200: json(ConsoleState, 'the state now'), 503: unavailable },
    },
  },
  '/console/events': {
    get: {
      tags: ['console'],
      summary: 'The console state, live',
      description: 'Server-sent events: a `state` event (data: the body of `GET /console/state`) now and every second. The stream ends when the process stops; browsers reconnect after 2 s.',
      responses: { 200: text('text/event-stream', 'the event stream'), 503: unavailable },
    },
  },
  '/console/dead-letters/{partition}/{offset}/replay': {
    post: {
      tags: ['console'],
      summary: 'Replay a dead letter to its origin',
      description:
        'For staff. Sends the dead-lettered record back to the topic and partition it came from (key, value and headers as they were, the `shop.dlq.*` headers removed), in one transaction with a mark on `shop.dlq.replays`: a record is replayed once, whichever api process is asked, and how often.',
      security: [{ adminToken: [] }],
      parameters: ['partition', 'offset'].map((name) => ({ name, in: 'path', required: true, schema: { type: 'string', pattern: '^[0-9]+$' }, description: `the dead letter's ${name} in \`shop.dlq\`` })),
      responses: {
        200: json(DeadLetterReplayed, 'replayed: where the record went'),
        400: problem('the partition or offset is not a number'),
        401: problem('no bearer token', { 'WWW-Authenticate': header('`Bearer realm="shop"`') }),
        403: problem('the bearer token is not the admin token'),
        404: problem('no dead letter at that partition and offset'),
        409: problem('already replayed (the answer says when), or not a record shop dead-lettered (its origin is unknown)'),
        503: unavailable,
      },
    },
  },
  '/healthz': {
    get: { tags: ['probes'], summary: 'Liveness', responses: { 200: json(Alive, 'the process is alive and serving') } },
  },
  '/readyz': {
    get: {
      tags: ['probes'],
      summary: 'Readiness',
      responses: { 200: json(Ready, 'every actor runs and every role is ready'), 503: problem('not ready; `reasons` lists why', retryAfter) },
    },
  },
  '/metrics': {
    get: {
      tags: ['probes'],
      summary: 'Prometheus metrics',
      responses: { 200: { description: 'the process\'s metrics in the Prometheus text format 0.0.4', content: { 'text/plain': { schema: { type: 'string' } } } } },
    },
  },
}

/** `GET /openapi.json` (the document) and `GET /docs` (Elysia's rendering of it, Scalar in the browser). */
export const openapiRoutes = () =>
  openapi({
    path: '/docs',
    specPath: '/openapi.json',
    documentation: {
      info: {
        title: 'shop',
        version: packageJson.version,
        description: 'Event-driven e-commerce order pipeline on Apache Kafka. Every error is an RFC 9457 problem; a method a path does not have answers 405 with `Allow`.',
      },
      tags: [
        { name: 'orders', description: 'placing, following and cancelling orders (api role)' },
        { name: 'stock', description: 'stock levels (api role)' },
        { name: 'analytics', description: 'orders per minute, from the aggregator (api role)' },
        { name: 'console', description: 'the operator console at /console (api role)' },
        { name: 'probes', description: 'every process' },
      ],
      paths: paths as never,
      components: { securitySchemes: { adminToken: { type: 'http', scheme: 'bearer', description: 'the process\'s `--admin-token` (SHOP_ADMIN_TOKEN)' } } },
    },
  })
