#!/usr/bin/env bun
/**
 * `bun bench/micro/state-cache.ts [flushes]`: CPU per row of the SQLite state cache's flush
 * (`SqliteCache.write`, as a partition actor on Kafka keeps it), on a file already holding 15,000
 * sagas: `flushes` flushes (default 100) of 1,500 rows each, three in five new keys and two in five
 * rewrites of keys written in the last 20,000 (one in five of those done), as a draining stream core
 * writes them. Figures quoted in src/state/cache.ts.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createLogger } from '../../src/log.ts'
import { type CacheEntry, withCache } from '../../src/state/cache.ts'
import { random } from '../../test/harness/random.ts'

const flushes = Number(process.argv[2] ?? 100)
const dir = mkdtempSync(join(tmpdir(), 'shop-state-cache-'))
const saga = (status: string) => JSON.stringify({ orderId: crypto.randomUUID(), userId: 'user-1234', status, lines: [{ sku: 'sku-12', quantity: 1, state: 'pending' }, { sku: 'sku-99', quantity: 2, state: 'reserved' }], total: 123.45, currency: 'EUR', createdAt: new Date().toISOString() })
const keys: string[] = []
let offset = 0n
/** One flush's rows, and the changelog offset they reach. */
const batch = (rows: Map<string, CacheEntry | null>) => ({ rows, at: { topic: 'sagas-changelog', next: (offset += BigInt(rows.size)) } })
const fresh = () => {
  const key = crypto.randomUUID()
  keys.push(key)
  return key
}
// A fixed sequence, so that runs compare.
const next = random(1)

try {
  await withCache(join(dir, 'cache.db'), createLogger('silent'), async (cache) => {
    for (let b = 0; b < 5; b++) {
      const { rows, at } = batch(new Map(Array.from({ length: 3_000 }, () => [fresh(), { text: saga('reserving') }])))
      cache.write('sagas', rows, at)
    }
    const batches = Array.from({ length: flushes }, () => {
      const rows = new Map<string, CacheEntry | null>()
      for (let j = 0; j < 1_500; j++) {
        if (j % 5 < 3) rows.set(fresh(), { text: saga('reserving') })
        else rows.set(keys[keys.length - 1 - Math.floor(next() * Math.min(20_000, keys.length - 1))]!, j % 25 === 3 ? { text: saga('shipped'), doneAt: Date.now() + j } : { text: saga('reserved') })
      }
      return batch(rows)
    })
    const cpu = process.cpuUsage()
    let written = 0
    for (const { rows, at } of batches) {
      cache.write('sagas', rows, at)
      written += rows.size
    }
    const used = process.cpuUsage(cpu)
    console.log(`${written} rows in ${flushes} flushes (the file holds ${cache.count('sagas')} keys after): ${((used.user + used.system) / written).toFixed(2)} µs of CPU a row`)
  })
} finally {
  rmSync(dir, { recursive: true, force: true })
}
