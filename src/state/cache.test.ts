import { expect, test } from 'bun:test'
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { MemoryLog } from '../kafka/memory/index.ts'
import { createLogger } from '../log.ts'
import { runtime, type SqlValue, type SqliteDatabase } from '../runtime/index.ts'
import { SqliteCache, withCache } from './cache.ts'
import { ChangelogStore } from './changelog-store.ts'

const changelog = { topic: 'changelog', partition: 0 }

async function restoreFrom(path: string, log: MemoryLog) {
  const { cache, result } = await withCache(path, createLogger('silent'), async (cache) => {
    const store = new ChangelogStore<number>(cache, 's', changelog)
    await store.restore(log)
    return store
  })
  return { cache, store: result }
}

test.each([
  ['not a database at all', (path: string) => writeFileSync(path, 'garbage'.repeat(1000))],
  [
    'a database with damaged pages',
    (path: string) => {
      const db = runtime.openSqlite(path)
      db.exec('PRAGMA journal_mode = DELETE')
      const cache = new SqliteCache(db)
      const entries = new Map(Array.from({ length: 500 }, (_, i) => [`k${i}`, { text: 'x'.repeat(100), doneAt: i }]))
      cache.write('s', entries, { topic: 'changelog', next: 2n })
      cache.close()
      const bytes = readFileSync(path)
      for (let i = 4096; i < bytes.length; i += 7) bytes[i] = 0xff
      writeFileSync(path, bytes)
    },
  ],
])('a state cache that is %s is discarded and rebuilt from the changelog', async (_, damage) => {
  const log = new MemoryLog()
  await log.admin.ensureTopics([{ name: 'changelog', partitions: 1 }])
  await log.producer().send([{ ...changelog, key: 'a', value: '1' }, { ...changelog, key: 'b', value: '2' }])
  const path = join(mkdtempSync(join(tmpdir(), 'shop-cache-')), 'p0.sqlite')
  damage(path)
  const { cache, store } = await restoreFrom(path, log)
  expect([store.get('a'), store.get('b'), store.size]).toEqual([1, 2, 2])
  cache.close()
  // The rebuilt file is a sound cache: the next start reads it.
  const again = await restoreFrom(path, log)
  expect(again.store.size).toBe(2)
  again.cache.close()
})

test('a state cache of the layout before the done_at column is dropped and refilled from the changelog', async () => {
  const log = new MemoryLog()
  await log.admin.ensureTopics([{ name: 'changelog', partitions: 1 }])
  await log.producer().send([{ ...changelog, key: 'a', value: '1' }, { ...changelog, key: 'b', value: '2' }])
  const path = join(mkdtempSync(join(tmpdir(), 'shop-cache-')), 'p0.sqlite')
  // The old layout, holding a value the changelog does not have and a checkpoint at its end.
  const old = runtime.openSqlite(path)
  old.exec('CREATE TABLE kv (store TEXT NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL, PRIMARY KEY (store, key))')
  old.exec('CREATE TABLE checkpoint (store TEXT PRIMARY KEY, topic TEXT NOT NULL, next_offset TEXT NOT NULL)')
  old.exec("INSERT INTO kv VALUES ('s', 'stale', '9')")
  old.exec("INSERT INTO checkpoint VALUES ('s', 'changelog', '2')")
  old.close()
  const { cache, store } = await restoreFrom(path, log)
  expect([store.get('a'), store.get('b'), store.get('stale'), store.size]).toEqual([1, 2, undefined, 2])
  cache.close()
  const again = await restoreFrom(path, log)
  expect(await again.store.restore(log)).toEqual({ fromCache: 2, replayed: 0 })
  again.cache.close()
})

test('a state cache file is locked to the connection that has it open: a second opening fails until the first closes', async () => {
  const log = new MemoryLog()
  await log.admin.ensureTopics([{ name: 'changelog', partitions: 1 }])
  await log.producer().send([{ ...changelog, key: 'a', value: '1' }])
  const path = join(mkdtempSync(join(tmpdir(), 'shop-cache-')), 'p0.sqlite')
  const first = await restoreFrom(path, log)
  expect(restoreFrom(path, log)).rejects.toThrow(/locked/)
  first.cache.close()
  const next = await restoreFrom(path, log)
  expect([next.store.get('a'), next.store.size]).toEqual([1, 1])
  next.cache.close()
})

/** A SQLite database that counts the lookups of values asked of it. */
function countingDatabase(path: string) {
  const db = runtime.openSqlite(path)
  const counted = { lookups: 0 }
  const database: SqliteDatabase = {
    ...db,
    prepare<Row, Params extends SqlValue[]>(sql: string) {
      const statement = db.prepare<Row, Params>(sql)
      if (!sql.startsWith('SELECT value')) return statement
      return { ...statement, get: (...params: Params) => (counted.lookups++, statement.get(...params)) }
    },
  }
  return { database, counted }
}

test('the SQLite state cache asks SQLite nothing for a key it never held, and finds every key it holds, across refills of its filter and a reopening', () => {
  const path = join(mkdtempSync(join(tmpdir(), 'shop-cache-')), 'p0.sqlite')
  const first = countingDatabase(path)
  // A filter sized for 1,000 keys at least: the 5,000 written below refill it twice.
  let cache = new SqliteCache(first.database, 1_000)
  const held: string[] = []
  let next = 0n
  for (let flush = 0; flush < 10; flush++) {
    const keys = Array.from({ length: 500 }, () => crypto.randomUUID())
    held.push(...keys)
    cache.write('s', new Map(keys.map((key) => [key, { text: `"${key}"` }])), { topic: 'changelog', next: (next += 500n) })
    // The filter is made at the store's first lookup, from the file, then kept up by every write.
    expect(cache.get('s', keys[0]!)).toBe(`"${keys[0]}"`)
  }
  cache.write('s', new Map([[held[0]!, null]]), { topic: 'changelog', next: ++next })
  expect(held.slice(1).filter((key) => cache.get('s', key) !== `"${key}"`)).toEqual([])
  expect([cache.get('s', held[0]!), cache.count('s')]).toEqual([undefined, 4_999])
  const strangers = Array.from({ length: 10_000 }, () => crypto.randomUUID())
  first.counted.lookups = 0
  expect(strangers.filter((key) => cache.get('s', key) !== undefined)).toEqual([])
  // Those the filter let through (at most ~1.2%) are SQLite's to answer.
  expect(first.counted.lookups).toBeLessThan(200)
  // Another store of the same file has a filter of its own.
  expect(cache.get('other', held[1]!)).toBeUndefined()
  cache.close()

  // Reopened, the filter is made from the file's keys.
  const second = countingDatabase(path)
  cache = new SqliteCache(second.database, 1_000)
  expect(held.slice(1).filter((key) => cache.get('s', key) !== `"${key}"`)).toEqual([])
  second.counted.lookups = 0
  expect(strangers.filter((key) => cache.get('s', key) !== undefined)).toEqual([])
  expect(second.counted.lookups).toBeLessThan(200)
  // Cleared, the store holds nothing, and then what is written again.
  cache.clear('s')
  expect(cache.get('s', held[1]!)).toBeUndefined()
  cache.write('s', new Map([[held[1]!, { text: '1' }]]), { topic: 'changelog', next: 1n })
  expect(cache.get('s', held[1]!)).toBe('1')
  cache.close()
})

test('the SQLite state cache finds the empty key', () => {
  const cache = new SqliteCache(runtime.openSqlite(':memory:'))
  cache.write('s', new Map([['', { text: '1' }]]), { topic: 'changelog', next: 1n })
  expect(cache.get('s', '')).toBe('1')
  cache.close()
})
