import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { Shop } from '../app.ts'
import { loadConfig } from '../config/load.ts'
import { MemoryLog } from '../kafka/memory/index.ts'
import { readTopic } from '../kafka/read-to-end.ts'
import { createLogger } from '../log.ts'
import { topicNames } from '../topology.ts'

const token = 'staff-token-0123456789abcdef'
const stockBody = JSON.stringify({ quantity: 7 })

describe('staff routes with --admin-token', () => {
  let shop: Shop
  let log: MemoryLog
  const topics = topicNames('')
  const levelsSent = async () => (await readTopic(log, topics.inventoryRequests)).length
  const call = (method: string, path: string, body: string, authorization?: string) =>
    fetch(`${shop.url}${path}`, { method, body, headers: { 'content-type': 'application/json', ...(authorization === undefined ? {} : { authorization }) } })

  beforeAll(async () => {
    log = new MemoryLog()
    const { config } = loadConfig(['--roles=api,registry', '--http-port=0', '--profile=prod', '--data-dir=/tmp'], { SHOP_ADMIN_TOKEN: token })
    expect(config.httpHost).toBe('0.0.0.0')
    shop = await Shop.start({ config, log, logger: createLogger('silent'), onEscalate: () => {} })
  })
  afterAll(() => shop.stop())

  const refused: Array<[string, string | undefined, number, string]> = [
    ['no Authorization header', undefined, 401, 'SHOP_UNAUTHORIZED'],
    ['Basic credentials', `Basic ${btoa(`admin:${token}`)}`, 401, 'SHOP_UNAUTHORIZED'],
    ['an empty bearer token', 'Bearer ', 401, 'SHOP_UNAUTHORIZED'],
    ['another token', 'Bearer staff-token-0123456789abcdeX', 403, 'SHOP_FORBIDDEN'],
    ['the token with a suffix', `Bearer ${token}x`, 403, 'SHOP_FORBIDDEN'],
    ['a prefix of the token', `Bearer ${token.slice(0, -1)}`, 403, 'SHOP_FORBIDDEN'],
  ]
  test.each(refused)('PUT /stock with %s is refused with a problem body and sends no level', async (_what, authorization, status, code) => {
    const before = await levelsSent()
    const response = await call('PUT', '/stock/SKU-A', stockBody, authorization)
    expect(response.status).toBe(status)
    expect(response.headers.get('content-type')).toBe('application/problem+json')
    if (status === 401) expect(response.headers.get('www-authenticate')).toBe('Bearer realm="shop"')
    const problem = (await response.json()) as { type: string; status: number; detail: string }
    expect(problem).toMatchObject({ type: `urn:shop:error:${code}`, status })
    expect(problem.detail).not.toContain(token)
    expect(await levelsSent()).toBe(before)
  })

  test('PUT /stock with the admin token (any case of "Bearer") is accepted and sends exactly one level', async () => {
    const before = await levelsSent()
    const response = await call('PUT', '/stock/SKU-A', stockBody, `bearer ${token}`)
    expect(response.status).toBe(202)
    expect(await levelsSent()).toBe(before + 1)
  })

  test("customers' routes stay open: POST /orders and GET /stock need no token", async () => {
    const order = await call('POST', '/orders', JSON.stringify({ userId: 'ada', items: [{ sku: 'SKU-A', quantity: 1, unitPrice: 1 }], total: 1 }))
    expect(order.status).toBe(202)
    expect((await fetch(`${shop.url}/stock/SKU-unknown`)).status).toBe(404)
  })

  test("the registry's compatibility level is staff-only (Confluent's error codes); reading it and registering stay open", async () => {
    const level = JSON.stringify({ compatibility: 'NONE' })
    const anonymous = await call('PUT', '/registry/config', level)
    expect(anonymous.status).toBe(401)
    expect(await anonymous.json()).toMatchObject({ error_code: 40101 })
    const wrong = await call('PUT', '/registry/config/orders.created-value', level, 'Bearer not-the-admin-token')
    expect(wrong.status).toBe(403)
    expect(await wrong.json()).toMatchObject({ error_code: 40301 })
    expect(await (await fetch(`${shop.url}/registry/config`)).json()).toEqual({ compatibilityLevel: 'BACKWARD' })
    const staff = await call('PUT', '/registry/config/orders.created-value', level, `Bearer ${token}`)
    expect(staff.status).toBe(200)
    expect(await (await fetch(`${shop.url}/registry/config/orders.created-value`)).json()).toEqual({ compatibilityLevel: 'NONE' })
    expect(await (await fetch(`${shop.url}/registry/config`)).json()).toEqual({ compatibilityLevel: 'BACKWARD' })
    const registered = await call('POST', '/registry/subjects/scratch-value/versions', JSON.stringify({ schemaType: 'JSON', schema: '{"type":"object"}' }))
    expect(registered.status).toBe(200)
  })
})

test('without a token (dev profile only) the staff routes are open', async () => {
  const { config } = loadConfig(['--roles=api', '--http-port=0'], {})
  const shop = await Shop.start({ config, log: new MemoryLog(), logger: createLogger('silent'), onEscalate: () => {} })
  try {
    const response = await fetch(`${shop.url}/stock/SKU-A`, { method: 'PUT', body: stockBody, headers: { 'content-type': 'application/json' } })
    expect(response.status).toBe(202)
  } finally {
    await shop.stop()
  }
})
