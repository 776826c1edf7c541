import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import type { Page } from 'playwright-core'
import type { ConsoleState } from '../../schemas/console.ts'
import { type PageWatch, openBrowser } from '../harness/browser.ts'
import { eventually } from '../harness/eventually.ts'
import { httpReceiver } from '../harness/receiver.ts'
import { ShopProcess, repo } from '../harness/shop-process.ts'

/**
 * The operator console in a real headless Chromium, against a shop process started as users start
 * it (every role, the embedded log): orders placed through the API appear and reach their final
 * status, an order's history opens from the keyboard, and a webhook notification dead-lettered
 * while the receiver refused it is replayed from the page once the receiver is fixed.
 */
const adminToken = 'console-test-admin-token-0123456789'
const screenshot = process.env.SHOP_CONSOLE_SCREENSHOT ?? join(repo, '.cache/console.png')

// The webhook receiver: it refuses (503) Dora's notifications until the test "fixes" it.
const refused = new Set(['dora'])
const delivered: string[] = []
const receiver = httpReceiver(async (request) => {
  const body = (await request.json()) as { id: string; userId: string }
  if (refused.has(body.userId)) return new Response('down for maintenance', { status: 503 })
  delivered.push(request.headers.get('x-shop-notification-id') ?? `missing header for ${body.id}`)
  return new Response(null, { status: 204 })
})

let shop: ShopProcess
let page: Page
let watch: PageWatch
let closeBrowser: () => Promise<void>
const dataDir = mkdtempSync(join(tmpdir(), 'shop-console-'))

beforeAll(async () => {
  shop = await ShopProcess.spawn([
    '--http-port=0',
    `--data-dir=${dataDir}`,
    `--admin-token=${adminToken}`,
    '--notify=webhook',
    `--webhook-url=${receiver.url}/hook`,
    '--webhook-secret=console-test',
    '--webhook-attempts=2',
    '--webhook-backoff-ms=10',
    '--heartbeat-ms=1000',
  ])
  await shop.ready()
  ;({ page, watch, close: closeBrowser } = await openBrowser())
}, 90_000)

afterAll(async () => {
  await closeBrowser?.()
  shop?.kill('SIGTERM')
  await shop?.proc.exited
  rmSync(dataDir, { recursive: true, force: true })
})

const staff = { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' }

async function setStock(sku: string, quantity: number) {
  const res = await fetch(`${shop.url}/stock/${sku}`, { method: 'PUT', headers: staff, body: JSON.stringify({ quantity }) })
  expect(res.status).toBe(202)
}

async function placeOrder(userId: string, sku: string): Promise<string> {
  const res = await fetch(`${shop.url}/orders`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ userId, items: [{ sku, quantity: 1, unitPrice: 10 }], total: 10 }),
  })
  expect(res.status).toBe(202)
  return ((await res.json()) as { orderId: string }).orderId
}

const state = async () => (await (await fetch(`${shop.url}/console/state`)).json()) as ConsoleState
const statusCell = (orderId: string) => page.locator(`#orders-rows tr[data-key="${orderId}"] td:nth-child(3) .status`)

describe('the operator console', () => {
  test('shows orders arrive and reach their final status, and opens one order\'s history', async () => {
    await page.goto(`${shop.url}/console`)
    await eventually(async () => expect(await page.locator('#connection').textContent()).toBe('live'), 10_000)
    // The process list comes from the heartbeat topic: this process, ready, with every role.
    await eventually(async () => expect(await page.locator('#process-rows tr td:nth-child(3)').allTextContents()).toEqual(['ready']), 10_000)

    await setStock('SKU-A', 15)
    await eventually(async () => expect(await page.locator('#stock-rows tr[data-key="SKU-A"] td:nth-child(2)').textContent()).toBe('15'), 10_000)
    const orderIds = await Promise.all(Array.from({ length: 20 }, (_, i) => placeOrder(`user-${i}`, 'SKU-A')))

    // Each order's row reaches the status the read model holds; 15 units: 15 shipped, 5 out of stock.
    const finals = new Map<string, string>()
    await eventually(async () => {
      for (const orderId of orderIds) {
        const shown = await statusCell(orderId).getAttribute('data-status', { timeout: 100 })
        expect(['shipped', 'out_of_stock']).toContain(String(shown))
        finals.set(orderId, shown!)
      }
    }, 30_000, 200)
    expect([...finals.values()].filter((s) => s === 'shipped')).toHaveLength(15)
    for (const orderId of orderIds) {
      const stored = (await (await fetch(`${shop.url}/orders/${orderId}`)).json()) as { status: string }
      expect(`${orderId} ${stored.status}`).toBe(`${orderId} ${finals.get(orderId)}`)
    }
    await eventually(async () => expect(await page.locator('#stock-rows tr[data-key="SKU-A"] td:nth-child(2)').textContent()).toBe('0'), 10_000)
    // The charts' outcome counts are linked to the same orders: 15 shipped and 5 out of stock in the last minute.
    await eventually(async () => {
      expect(await page.locator('#outcomes li[data-key="shipped"] span:nth-child(2)').textContent()).toBe('15')
      expect(await page.locator('#outcomes li[data-key="out_of_stock"] span:nth-child(2)').textContent()).toBe('5')
    }, 10_000)

    // Keyboard: focus a shipped order's button and press Enter; the history is the read model's.
    const shipped = orderIds.find((id) => finals.get(id) === 'shipped')!
    await page.locator(`#orders-rows tr[data-key="${shipped}"] button`).focus()
    await page.keyboard.press('Enter')
    const history = ((await (await fetch(`${shop.url}/orders/${shipped}`)).json()) as { history: Array<{ status: string }> }).history.map((h) => h.status)
    expect(history).toEqual(['pending', 'reserved', 'paid', 'packed', 'shipped'])
    await eventually(async () => {
      const shown = await page.locator('#detail-history li').allTextContents()
      expect(shown.map((line) => line.split(' ')[1])).toEqual(history)
    }, 10_000)
    expect(await page.locator('#detail-title').textContent()).toBe(`Order ${shipped}`)
    expect(await page.locator('#order-detail').evaluate((panel) => panel.ownerDocument.activeElement === panel)).toBe(true)
  }, 90_000)

  test('replays a dead-lettered notification once the receiver is fixed, once', async () => {
    await setStock('SKU-D', 1)
    const doraOrder = await placeOrder('dora', 'SKU-D')
    await eventually(async () => expect(await statusCell(doraOrder).getAttribute('data-status', { timeout: 100 })).toBe('shipped'), 30_000, 200)
    // Every notification of Dora's order was refused twice (--webhook-attempts=2), then dead-lettered.
    const letters = await eventually(async () => {
      const dead = (await state()).deadLetters.filter((d) => d.key === 'dora')
      expect(dead.map((d) => JSON.parse(d.value).status).sort()).toEqual(['reserved', 'shipped'])
      return dead
    }, 30_000, 200)
    for (const letter of letters) {
      expect(letter.origin.topic).toBe('notification.requests')
      expect(letter.group).toBe('shop-delivery')
      // Handled once by the delivery dispatcher, whose webhook sink tried twice.
      expect(letter.attempts).toBe(1)
      expect(letter.error).toContain('2 attempt(s) failed: HTTP 503; HTTP 503')
    }
    await eventually(async () => expect(await page.locator('#dlq-rows tr').count()).toBe(2), 10_000)

    // Without the token the page shows the refusal and nothing is replayed.
    const shippedLetter = letters.find((d) => JSON.parse(d.value).status === 'shipped')!
    const row = page.locator(`#dlq-rows tr[data-key="${shippedLetter.partition}:${shippedLetter.offset}"]`)
    await row.locator('button').click()
    await eventually(async () => expect(await page.locator('#dlq-message').textContent()).toStartWith('Replay refused (401)'), 10_000)

    // Fix the cause, give the token, replay from the keyboard.
    refused.clear()
    const deliveredBefore = delivered.length
    await page.locator('#admin-token').fill(adminToken)
    await row.locator('button').focus()
    await page.keyboard.press('Enter')
    await eventually(async () => expect(await page.locator('#dlq-message').textContent()).toStartWith('Replayed to notification.requests:'), 10_000)
    await eventually(async () => expect(await row.locator('.status').getAttribute('data-status')).toBe('replayed'), 10_000)
    const notificationId = JSON.parse(shippedLetter.value).id as string
    await eventually(() => expect(delivered.slice(deliveredBefore)).toEqual([notificationId]), 15_000)

    // Once: a second replay is refused with the first one's time, and nothing more is delivered:
    // the sink's delivered count (read at the process's end of work) is exactly the receiver's.
    const again = await fetch(`${shop.url}/console/dead-letters/${shippedLetter.partition}/${shippedLetter.offset}/replay`, { method: 'POST', headers: staff })
    expect(again.status).toBe(409)
    expect(((await again.json()) as { detail: string }).detail).toContain('already replayed')
    await eventually(async () => {
      const metrics = await (await fetch(`${shop.url}/metrics`)).text()
      const count = Number(/shop_notification_deliveries_total\{sink="webhook",result="delivered"\} (\d+)/.exec(metrics)?.[1])
      expect(count).toBe(delivered.length)
    }, 10_000)
    expect(delivered.filter((id) => id === notificationId)).toHaveLength(1)
    // The other letter was not replayed.
    expect((await state()).deadLetters.filter((d) => d.key === 'dora' && d.replayed).map((d) => d.offset)).toEqual([shippedLetter.offset])
  }, 90_000)

  test('under load: the charts move, nothing is requested from elsewhere, no browser errors; a screenshot is saved', async () => {
    await setStock('SKU-L', 100_000)
    await eventually(async () => expect(await page.locator('#stock-rows tr[data-key="SKU-L"]').count()).toBe(1), 10_000)
    const placed: string[] = []
    const until = Date.now() + 4_000
    await Promise.all(Array.from({ length: 8 }, async (_, w) => {
      for (let i = 0; Date.now() < until; i++) placed.push(await placeOrder(`load-${w}-${i}`, 'SKU-L'))
    }))
    // The charts' last minute holds every one of them as accepted.
    await eventually(async () => {
      const accepted = (await state()).seconds.reduce((sum, s) => sum + s.accepted, 0)
      expect(accepted).toBeGreaterThanOrEqual(placed.length)
    }, 15_000, 200)
    await eventually(async () => expect(Number(await page.locator('#accepted-chart').evaluate((svg) => /peak (\d+)/.exec(svg.getAttribute('aria-label') ?? '')?.[1]))).toBeGreaterThan(1), 10_000)
    mkdirSync(dirname(screenshot), { recursive: true })
    await page.screenshot({ path: screenshot, fullPage: true })

    expect(watch.requests.filter((url) => !url.startsWith(shop.url))).toEqual([])
    // The one line Chromium logs is its network log of the replay refused without a token above.
    expect(watch.errors).toEqual(['console.error: Failed to load resource: the server responded with a status of 401 (Unauthorized)'])
  }, 90_000)
})
