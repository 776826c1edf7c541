import { describe, expect, test } from 'bun:test'
import { MemoryLog } from '../kafka/memory/index.ts'
import { runtime } from '../runtime/index.ts'
import { type CacheEntry, MemoryCache, SqliteCache, type StateCache } from './cache.ts'
import { ChangelogStore, Changes } from './changelog-store.ts'

const changelog = { topic: 'changelog', partition: 1 }

async function setup() {
  const log = new MemoryLog()
  await log.admin.ensureTopics([{ name: 'changelog', partitions: 2 }])
  return log
}

// Both caches a store may have: SQLite (an actor on Kafka, here in a database in memory) and a Map (the memory bus).
const caches: Array<[string, () => StateCache]> = [
  ['sqlite', () => new SqliteCache(runtime.openSqlite(':memory:'))],
  ['memory', () => new MemoryCache()],
]

for (const [kind, newCache] of caches) describe(`changelog store on the ${kind} cache`, () => {
  test('restores from the changelog; staged writes are invisible to the store until commit', async () => {
    const log = await setup()
    await log.producer().send([
      { ...changelog, key: 'a', value: '1' },
      { ...changelog, key: 'a', value: '2' },
      { topic: 'changelog', partition: 0, key: 'other', value: '9' },
    ])
    const store = new ChangelogStore<number>(newCache(), 's', changelog)
    expect(await store.restore(log)).toEqual({ fromCache: 0, replayed: 2 })
    expect(store.get('a')).toBe(2)
    expect(store.get('other')).toBeUndefined()

    const changes = new Changes(new Map([['s', store as ChangelogStore<unknown>]]))
    const fork = changes.fork()
    fork.put('s', 'a', 3)
    expect(fork.get('s', 'a')).toBe(3)
    expect(changes.get('s', 'a')).toBe(2) // a failed record's fork is simply dropped
    fork.merge()
    expect(changes.records()).toEqual([{ ...changelog, key: 'a', value: '3' }])
    expect(store.get('a')).toBe(2)
    changes.commit(await log.producer().send(changes.records()))
    expect(store.get('a')).toBe(3)
  })

  test('a restart reads the cache and replays only the changelog past its checkpoint', async () => {
    const log = await setup()
    const db = newCache()
    await log.producer().send([{ ...changelog, key: 'a', value: '1' }, { ...changelog, key: 'b', value: '2' }])
    await new ChangelogStore<number>(db, 's', changelog).restore(log)
    await log.producer().send([{ ...changelog, key: 'b', value: '5' }])
    const again = new ChangelogStore<number>(db, 's', changelog)
    expect(await again.restore(log)).toEqual({ fromCache: 2, replayed: 1 })
    expect([again.get('a'), again.get('b')]).toEqual([1, 5])
  })

  test('committed writes reach the cache in batches (flush); a restart before a flush still restores them from the changelog', async () => {
    const log = await setup()
    const db = newCache()
    const cached = (key: string) => db.get('s', key)
    const store = new ChangelogStore<number>(db, 's', changelog)
    await store.restore(log)
    const changes = new Changes(new Map([['s', store as ChangelogStore<unknown>]]))
    changes.put('s', 'a', 7)
    changes.commit(await log.producer().send(changes.records()))
    expect(store.get('a')).toBe(7)
    expect(cached('a')).toBeUndefined()
    const restarted = new ChangelogStore<number>(db, 's', changelog)
    expect(await restarted.restore(log)).toEqual({ fromCache: 0, replayed: 1 })
    expect(restarted.get('a')).toBe(7)
    expect(cached('a')).toBe('7')
  })

  test('each flush advances the checkpoint with the values: a restart after a flush replays nothing', async () => {
    const log = await setup()
    const db = newCache()
    const store = new ChangelogStore<number>(db, 's', changelog)
    await store.restore(log)
    for (let i = 0; i < 3; i++) {
      const changes = new Changes(new Map([['s', store as ChangelogStore<unknown>]]))
      changes.put('s', `k${i}`, i)
      changes.put('s', 'hot', i)
      changes.commit(await log.producer().send(changes.records()))
    }
    store.flush()
    const restarted = new ChangelogStore<number>(db, 's', changelog)
    expect(await restarted.restore(log)).toEqual({ fromCache: 4, replayed: 0 })
    expect([restarted.get('k0'), restarted.get('k2'), restarted.get('hot')]).toEqual([0, 2, 2])
  })

  test('a deletion is a tombstone on the changelog and a deleted entry in the cache: no restore brings it back', async () => {
    const log = await setup()
    const db = newCache()
    const store = new ChangelogStore<number>(db, 's', changelog)
    await store.restore(log)
    const write = async (edit: (changes: Changes) => void) => {
      const changes = new Changes(new Map([['s', store as ChangelogStore<unknown>]]))
      edit(changes)
      const records = changes.records()
      changes.commit(await log.producer().send(records))
      return records
    }
    await write((c) => (c.put('s', 'a', 1), c.put('s', 'b', 2)))
    store.flush()
    expect(await write((c) => c.put('s', 'a', undefined))).toEqual([{ ...changelog, key: 'a', value: null }])
    expect([store.get('a'), store.size]).toEqual([undefined, 1])
    store.flush()
    const fromCache = new ChangelogStore<number>(db, 's', changelog)
    expect(await fromCache.restore(log)).toEqual({ fromCache: 1, replayed: 0 })
    expect([fromCache.get('a'), fromCache.get('b')]).toEqual([undefined, 2])
    const fromChangelog = new ChangelogStore<number>(newCache(), 's', changelog)
    expect(await fromChangelog.restore(log)).toEqual({ fromCache: 0, replayed: 3 })
    expect([fromChangelog.get('a'), fromChangelog.get('b'), fromChangelog.size]).toEqual([undefined, 2, 1])
  })

  test('sweep deletes the values done before the window, oldest first, at most `limit` per store; restore queues them again', async () => {
    const log = await setup()
    const db = newCache()
    const store = new ChangelogStore<{ doneAt?: number }>(db, 's', changelog)
    await store.restore(log)
    const stores = new Map([['s', store as ChangelogStore<unknown>]])
    const first = new Changes(stores)
    // Done out of order (as after a partition moved between clocks), one not done, one done later.
    for (const [key, value] of [['c', { doneAt: 300 }], ['a', { doneAt: 100 }], ['open', {}], ['b', { doneAt: 200 }], ['late', { doneAt: 900 }]] as const) first.put('s', key, value)
    first.commit(await log.producer().send(first.records()))

    // A restore sorts the queue; an aborted sweep is undone by the restore that follows every abort.
    const restored = new ChangelogStore<{ doneAt?: number }>(db, 's', changelog)
    await restored.restore(log)
    const aborted = new Changes(new Map([['s', restored as ChangelogStore<unknown>]]))
    expect(aborted.sweep(500, 10)).toBe(3)
    await restored.restore(log)

    const sweep = new Changes(new Map([['s', restored as ChangelogStore<unknown>]]))
    sweep.put('s', 'b', { doneAt: 600 }) // rewritten in this transaction as done later: kept
    expect(sweep.sweep(500, 2)).toBe(1)
    expect(sweep.records()).toEqual([
      { ...changelog, key: 'b', value: JSON.stringify({ doneAt: 600 }) },
      { ...changelog, key: 'a', value: null },
    ])
    sweep.commit(await log.producer().send(sweep.records()))
    const next = new Changes(new Map([['s', restored as ChangelogStore<unknown>]]))
    expect(next.sweep(500, 2)).toBe(1) // c; b (600) and late (900) are inside the window
    expect(next.records()).toEqual([{ ...changelog, key: 'c', value: null }])
    next.commit(await log.producer().send(next.records()))
    expect([...['a', 'b', 'c', 'open', 'late'].map((k) => restored.get(k) !== undefined)]).toEqual([false, true, false, true, true])
    expect(new Changes(new Map([['s', restored as ChangelogStore<unknown>]])).sweep(1_000, 10)).toBe(2)
  })

  test('a value leaves memory once flushed to the cache; a read takes it back until the next flush; rewrites, sweeps and restores still see it', async () => {
    const log = await setup()
    const db = newCache()
    type Value = { doneAt?: number; note?: string }
    const store = new ChangelogStore<Value>(db, 's', changelog)
    await store.restore(log)
    const stores = new Map([['s', store as ChangelogStore<unknown>]])
    const commit = async (writes: Array<[string, Value | undefined]>) => {
      const changes = new Changes(stores)
      for (const [key, value] of writes) changes.put('s', key, value)
      changes.commit(await log.producer().send(changes.records()))
    }
    await commit([['done', { doneAt: 100 }], ['open', {}], ['gone', {}]])
    expect([store.size, store.resident, db.count('s')]).toEqual([3, 3, 0]) // not in the cache yet
    store.flush()
    expect([store.size, store.resident, db.count('s')]).toEqual([3, 0, 3])
    expect(store.get('open')).toEqual({})
    expect(new Changes(stores).get('s', 'done')).toEqual({ doneAt: 100 })
    expect(store.get('missing')).toBeUndefined()
    expect([store.size, store.resident]).toEqual([3, 2]) // read back, until the next flush
    store.flush()
    expect([store.size, store.resident]).toEqual([3, 0])

    // Read back, then written again or deleted: the cache takes the write at the next flush, and memory lets go.
    expect([store.get('done'), store.get('gone')]).toEqual([{ doneAt: 100 }, {}])
    await commit([['done', { doneAt: 100, note: 'refunded' }], ['gone', undefined]])
    expect([store.get('gone'), store.size]).toEqual([undefined, 2])
    store.flush()
    expect([store.size, store.resident, db.get('s', 'done'), db.get('s', 'gone')]).toEqual([2, 0, JSON.stringify({ doneAt: 100, note: 'refunded' }), undefined])
    expect([store.get('done'), store.get('gone')]).toEqual([{ doneAt: 100, note: 'refunded' }, undefined])

    // A restart leaves both in the cache alone, and the sweep still finds the done one, once.
    const again = new ChangelogStore<Value>(db, 's', changelog)
    expect(await again.restore(log)).toEqual({ fromCache: 2, replayed: 0 })
    expect([again.size, again.resident]).toEqual([2, 0])
    const sweep = new Changes(new Map([['s', again as ChangelogStore<unknown>]]))
    expect(sweep.sweep(500, 10)).toBe(1)
    expect(sweep.records()).toEqual([{ ...changelog, key: 'done', value: null }])
    sweep.commit(await log.producer().send(sweep.records()))
    again.flush()
    expect([again.size, again.get('done'), db.get('s', 'done'), again.get('open')]).toEqual([1, undefined, undefined, {}])
  })

  test('the size counts every entry, whether its write read it first or not, and a deletion of what is not there changes nothing', async () => {
    const log = await setup()
    const db = newCache()
    const store = new ChangelogStore<number>(db, 's', changelog)
    await store.restore(log)
    const commit = async (writes: Array<[string, number | undefined]>) => {
      const changes = new Changes(new Map([['s', store as ChangelogStore<unknown>]]))
      for (const [key, value] of writes) changes.put('s', key, value)
      changes.commit(await log.producer().send(changes.records()))
    }
    await commit([['a', 1], ['b', 2], ['c', 3]])
    store.flush()
    // Written blind (never read since the flush): a rewrite, a deletion, a new key, a deletion of a key never written.
    await commit([['a', 10], ['b', undefined], ['d', 4], ['never', undefined]])
    expect(store.size).toBe(3)
    // Written twice since the flush: counted once.
    await commit([['d', 5], ['e', 6], ['e', undefined], ['b', 7]])
    expect(store.size).toBe(4)
    store.flush()
    expect([store.size, db.count('s')]).toEqual([4, 4])
    const restarted = new ChangelogStore<number>(db, 's', changelog)
    expect(await restarted.restore(log)).toEqual({ fromCache: 4, replayed: 0 })
    expect(['a', 'b', 'c', 'd', 'e'].map((key) => restarted.get(key))).toEqual([10, 7, 3, 5, undefined])
  })

  test('the sweep hands out each done value once between flushes, and again after one only if its deletion has not committed', async () => {
    const log = await setup()
    const db = newCache()
    const store = new ChangelogStore<{ doneAt?: number }>(db, 's', changelog)
    await store.restore(log)
    const stores = new Map([['s', store as ChangelogStore<unknown>]])
    const done = new Changes(stores)
    for (let i = 0; i < 5; i++) done.put('s', `k${i}`, { doneAt: 100 + i })
    done.commit(await log.producer().send(done.records()))
    store.flush()

    // Two batches in flight, the second on the first's changes (as a member pipelines them): no key twice.
    const first = new Changes(stores)
    expect(first.sweep(500, 2)).toBe(2)
    const second = first.fork()
    expect(second.sweep(500, 2)).toBe(2)
    expect(second.records().map((r) => r.key)).toEqual(['k2', 'k3'])
    // A flush (another store's commit, say) lets the sweep read from the oldest again: k0 and k1 are
    // still in the cache, their deletion in flight, and the fork on the first batch skips them.
    store.flush()
    const third = second.fork()
    expect(third.sweep(500, 10)).toBe(1)
    expect(third.records().map((r) => r.key)).toEqual(['k4'])
    first.commit(await log.producer().send(first.records()))
    store.flush()
    expect([store.size, store.get('k0'), store.get('k2')]).toEqual([3, undefined, { doneAt: 102 }])

    // Written since the flush, a value is judged by that write, not by the cache: k2 is live again.
    const rewrite = new Changes(stores)
    rewrite.put('s', 'k2', {})
    rewrite.put('s', 'k3', { doneAt: 103 })
    rewrite.commit(await log.producer().send(rewrite.records()))
    const last = new Changes(stores)
    expect(last.sweep(500, 10)).toBe(2)
    expect(last.records().map((r) => r.key)).toEqual(['k4', 'k3'])
  })

  test('the sweep asks the cache only when its last answer said something falls due: not at every batch while nothing does', async () => {
    const log = await setup()
    const cache = newCache()
    // Counts the sweep's reads of the cache.
    let reads = 0
    const expired = cache.expired.bind(cache)
    cache.expired = (...args) => (reads++, expired(...args))
    const store = new ChangelogStore<{ doneAt?: number }>(cache, 's', changelog)
    await store.restore(log)
    const stores = new Map([['s', store as ChangelogStore<unknown>]])
    const done = new Changes(stores)
    done.put('s', 'a', { doneAt: 100 })
    done.put('s', 'b', { doneAt: 200 })
    done.put('s', 'live', {})
    done.commit(await log.producer().send(done.records()))
    store.flush()
    const sweep = (before: number) => {
      const changes = new Changes(stores)
      changes.sweep(before, 10)
      return changes.records().map((r) => r.key)
    }

    expect([sweep(50), reads]).toEqual([[], 1]) // the cache says a falls due at 100
    expect([sweep(60), sweep(99), reads]).toEqual([[], [], 1])
    expect([sweep(150), reads]).toEqual([['a'], 2]) // and then b at 200
    expect([sweep(199), reads]).toEqual([[], 2])
    expect([sweep(250), reads]).toEqual([['b'], 3]) // and then nothing
    expect([sweep(10_000), reads]).toEqual([[], 3])
    // A flush changes what the cache holds (here: c, done before any of those): it is asked again.
    const later = new Changes(stores)
    later.put('s', 'c', { doneAt: 50 })
    later.commit(await log.producer().send(later.records()))
    store.flush()
    expect([sweep(60), reads]).toEqual([['c'], 4])
    // So is the cache of a restored store (none of these deletions committed: all are handed out again).
    const restored = new ChangelogStore<{ doneAt?: number }>(cache, 's', changelog)
    await restored.restore(log)
    const again = new Changes(new Map([['s', restored as ChangelogStore<unknown>]]))
    expect(again.sweep(250, 10)).toBe(3)
    expect(reads).toBe(5)
  })

  test('batches in flight one on another: each reads through the uncommitted ones before it, and through the store once they committed', async () => {
    const log = await setup()
    const store = new ChangelogStore<number>(newCache(), 's', changelog)
    await store.restore(log)
    const stores = new Map([['s', store as ChangelogStore<unknown>]])
    const first = new Changes(stores)
    first.put('s', 'a', 1)
    const second = first.fork()
    second.put('s', 'b', 2)
    const third = second.fork()
    third.put('s', 'a', 3)
    expect([third.get('s', 'a'), third.get('s', 'b'), second.get('s', 'a'), store.get('a')]).toEqual([3, 2, 1, undefined])
    // The first commits: the second reads its value from the store; the third still reads its own and the second's.
    first.commit(await log.producer().send(first.records()))
    expect([store.get('a'), second.get('s', 'a'), third.get('s', 'a'), third.get('s', 'b'), store.get('b')]).toEqual([1, 1, 3, 2, undefined])
    const fourth = third.fork()
    second.commit(await log.producer().send(second.records()))
    third.commit(await log.producer().send(third.records()))
    expect([fourth.get('s', 'a'), fourth.get('s', 'b')]).toEqual([3, 2])
    expect(fourth.records()).toEqual([])
    // Committed changes are read through no more (the chain of a busy actor's batches stays short):
    // what is staged on them afterwards reaches no later batch.
    first.put('s', 'c', 9)
    second.put('s', 'c', 9)
    expect([third.get('s', 'c'), fourth.get('s', 'c'), fourth.fork().get('s', 'c')]).toEqual([undefined, undefined, undefined])
  })

  test('the cache reads its done entries oldest first and on from where it stopped; one written older than that is read from the start', () => {
    const cache = newCache()
    const at = { topic: 'changelog', next: 1n }
    const done = (doneAt: number): CacheEntry => ({ text: '{}', doneAt })
    cache.write('s', new Map([['c', done(30)], ['a', done(10)], ['live', { text: '{}' }], ['b', done(20)], ['d', done(40)]]), at)
    // Each read also says when the next entry it did not return falls due (none: undefined).
    expect(cache.expired('s', 35, 2, true)).toEqual({ keys: ['a', 'b'], next: 30 })
    cache.write('s', new Map([['early', done(5)], ['a', null]]), at)
    expect(cache.expired('s', 35, 10, false)).toEqual({ keys: ['c'], next: 40 })
    expect(cache.expired('s', 50, 10, false)).toEqual({ keys: ['d'], next: undefined })
    expect(cache.expired('s', 50, 10, true)).toEqual({ keys: ['early', 'b', 'c', 'd'], next: undefined })
  })

  test('a checkpoint past the end of the changelog (the topic was recreated) discards the cache', async () => {
    const db = newCache()
    const old = await setup()
    await old.producer().send([{ ...changelog, key: 'a', value: '1' }, { ...changelog, key: 'b', value: '2' }])
    await new ChangelogStore<number>(db, 's', changelog).restore(old)
    const recreated = await setup()
    await recreated.producer().send([{ ...changelog, key: 'c', value: '3' }])
    const store = new ChangelogStore<number>(db, 's', changelog)
    expect(await store.restore(recreated)).toEqual({ fromCache: 0, replayed: 1 })
    expect([store.get('a'), store.get('c')]).toEqual([undefined, 3])
  })

  test("a restore waits for a transaction open on the changelog (the previous owner's last one, still settling) and holds what it committed", async () => {
    const log = await setup()
    const db = newCache()
    // The previous owner flushed its cache up to its last change but one.
    const previous = new ChangelogStore<number>(db, 's', changelog)
    await previous.restore(log)
    const [first] = await log.producer().send([{ ...changelog, key: 'a', value: '1' }])
    previous.commit(new Map([['a', 1]]), first.offset + 1n)
    previous.flush()
    const last = await log.transactionalProducer({ transactionalId: 'previous-owner' }).begin()
    await last.send([{ ...changelog, key: 'a', value: '2' }, { ...changelog, key: 'b', value: '3' }])

    const waited = Promise.withResolvers<{ stable: bigint; high: bigint }>()
    const store = new ChangelogStore<number>(db, 's', changelog)
    const restoring = store.restore(log, waited.resolve)
    expect(await waited.promise).toEqual({ stable: 1n, high: 3n })
    await last.commit()
    expect(await restoring).toEqual({ fromCache: 1, replayed: 2 })
    expect([store.get('a'), store.get('b')]).toEqual([2, 3])
  })
})
