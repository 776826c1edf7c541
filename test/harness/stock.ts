import { eventually } from './eventually.ts'

/**
 * Sets each SKU's stock through the API (`PUT /stock/{sku}`, 32 at a time), then waits until the
 * API reads every one back. Throws when a PUT is refused or a level is not visible within `ms`.
 */
export async function setStock(url: string, stock: Record<string, number>, ms = 30_000): Promise<void> {
  const entries = Object.entries(stock)
  for (let i = 0; i < entries.length; i += 32) {
    await Promise.all(
      entries.slice(i, i + 32).map(async ([sku, quantity]) => {
        const put = await fetch(`${url}/stock/${sku}`, { method: 'PUT', body: JSON.stringify({ quantity }), headers: { 'content-type': 'application/json' } })
        if (put.status !== 202) throw new Error(`PUT /stock/${sku} answered ${put.status}: ${await put.text()}`)
      }),
    )
  }
  await eventually(async () => {
    for (const [sku, quantity] of entries) {
      const res = await fetch(`${url}/stock/${sku}`)
      if (res.status !== 200 || ((await res.json()) as { available: number }).available !== quantity) throw new Error(`stock of ${sku} not visible within ${ms} ms`)
    }
  }, ms, 50)
}
