import { expect, test } from 'bun:test'
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { MemoryLog } from '../kafka/memory/index.ts'
import { createLogger } from '../log.ts'
import { runtime } from '../runtime/index.ts'
import { withCache } from './cache.ts'
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
      db.exec('CREATE TABLE kv (store TEXT NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL, PRIMARY KEY (store, key))')
      for (let i = 0; i < 500; i++) db.exec('INSERT INTO kv VALUES (?, ?, ?)', ['s', `k${i}`, 'x'.repeat(100)])
      db.close()
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
