#!/usr/bin/env bun
/**
 * `bun bench/micro/state-cache.ts [flushes]`: CPU per row of the SQLite state cache's flush
 * (`SqliteCache.write`, as a partition actor on Kafka keeps it), on a file already holding 15,000
 * sagas: `flushes` flushes (default 100) of 1,500 rows each, three in five new keys and two in five
 * rewrites of keys written in the last 20,000 (one in five of those done), as a draining stream core
 * writes them. Figures quoted in src/state/cache.ts.
 *
 * `bun bench/micro/state-cache.ts lookups [rows]`: CPU per `SqliteCache.get` on a file of `rows`
 * sagas (default 60,000), of keys it does not hold (a new order's) and of keys it holds, 100,000 of
 * each, twice, alternated; and the CPU the first lookup took, which reads the store's keys into its
 * filter. Figures quoted in src/state/key-filter.ts.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createLogger } from '../../src/log.ts'
import { type CacheEntry, withCache } from '../../src/state/cache.ts'
import { random } from '../../test/harness/random.ts'

const lookups = process.argv[2] === 'lookups'
const flushes = lookups ? 0 : Number(process.argv[2] ?? 100)
const rowsForLookups = Number(process.argv[3] ?? 60_000)
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
    if (lookups) {
      for (let b = 0; b < rowsForLookups / 1_500; b++) cache.write('sagas', new Map(Array.from({ length: 1_500 }, () => [fresh(), { text: saga('reserving') }])), batch(new Map()).at)
      const cpuOf = (work: () => void) => {
        const cpu = process.cpuUsage()
        work()
        const used = process.cpuUsage(cpu)
        return used.user + used.system
      }
      console.log(`first lookup, on a file of ${cache.count('sagas')} keys: ${(cpuOf(() => cache.get('sagas', 'none')) / 1000).toFixed(1)} ms of CPU`)
      for (const holds of [false, true, false, true]) {
        const probe = Array.from({ length: 100_000 }, (_, i) => (holds ? keys[(i * 7_919) % keys.length]! : crypto.randomUUID()))
        let found = 0
        const used = cpuOf(() => {
          for (const key of probe) if (cache.get('sagas', key) !== undefined) found++
        })
        console.log(`${probe.length} lookups of keys the file ${holds ? 'holds' : 'does not hold'} (${found} found): ${(used / probe.length).toFixed(2)} µs of CPU each`)
      }
      return
    }
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
