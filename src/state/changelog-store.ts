import type { Log } from '../kafka/port.ts'
import { type OnUnsettled, readRange, settledEnd } from '../kafka/read-to-end.ts'
import type { ConsumedRecord, ProduceRecord, RecordPosition, TopicPartition } from '../kafka/types.ts'
import type { CacheEntry, StateCache } from './cache.ts'
import { DoneQueue } from './done-queue.ts'

/**
 * A value that may be forgotten: once `doneAt` (milliseconds since the epoch) is older than the
 * deduplication window, the owning actor deletes it with a tombstone (see `Changes.sweep`).
 */
export interface Expiring {
  doneAt?: number
}

const doneAt = (value: unknown): number | undefined => (value as Expiring | undefined)?.doneAt

/**
 * One partition of an actor's key-value state. The truth is a compacted changelog topic partition;
 * this keeps the state being worked on in memory and the rest in a cache (StateCache: SQLite on
 * Kafka, a Map on the memory bus), tagged with the changelog offset it has caught up to. Writes go
 * through `Changes`: they become changelog records in the actor's transaction and reach the cache
 * only after it commits. A deletion is a tombstone (a null value) on the changelog, which
 * compaction later removes, and a deleted entry in the cache: the state, the changelog and the
 * restore time are bounded by what is live, not by history.
 *
 * Memory holds only what was written or read since the last flush (at most a second ago): a flush
 * writes the changes to the cache, then memory lets go of every value, key and index, and the
 * cache answers for them: a read of a value not in memory takes it back from the cache until the
 * next flush, and the sweep finds the done values in the cache's index of `doneAt`. So memory
 * holds the state being worked on, not every live order, nor the day of finished ones kept for
 * the deduplication window, as Kafka Streams keeps its state in RocksDB rather than on the JVM's
 * heap.
 */
export class ChangelogStore<V> {
  /** Values written or read since the last flush. */
  readonly #values = new Map<string, V>()
  /**
   * Committed writes not yet in the cache (null: deleted), with their JSON text: flushed at most
   * once a second, so hot keys coalesce. The text is the changelog record's own, made once per write.
   */
  #dirty = new Map<string, CacheEntry | null>()
  /** Whether the cache held each key read or written since the last flush. */
  readonly #inCache = new Map<string, boolean>()
  /** Entries the cache held at the last flush, and how many the writes since add (or, negative, remove). */
  #cachedCount = 0
  #pending = 0
  /** Done values (`Expiring`) written since the last flush; the flushed ones are in the cache's index. */
  #done = new DoneQueue()
  /** Whether the sweep reads the cache's done entries from the oldest again: a flush removed the deleted ones. */
  #sweepFromStart = true
  /**
   * When the next of the cache's done entries the sweep has not read falls due, as its last read
   * found (Infinity: none; undefined: not read since the last flush).
   */
  #cacheDueAt: number | undefined
  #flushedAt = performance.now()
  /** The changelog offset memory has caught up to: the cache's checkpoint once `#dirty` is flushed. */
  #next = 0n
  /** The checkpoint the cache holds. */
  #checkpointed = -1n

  constructor(
    private readonly cache: StateCache,
    readonly name: string,
    readonly changelog: TopicPartition,
  ) {}

  get(key: string): V | undefined {
    const value = this.#values.get(key)
    // Written since the last flush (a deletion is in `#dirty` alone), or known to be missing.
    if (value !== undefined || this.#dirty.has(key) || this.#inCache.get(key) === false) return value
    const text = this.cache.get(this.name, key)
    this.#inCache.set(key, text !== undefined)
    if (text === undefined) return undefined
    const read = JSON.parse(text) as V
    this.#values.set(key, read)
    return read
  }

  /** Entries of the store, in memory or not. */
  get size(): number {
    return this.#cachedCount + this.#pending
  }

  /** Entries held in memory: those written or read since the last flush. */
  get resident(): number {
    return this.#values.size
  }

  /**
   * Catches up from the cache's checkpoint to the end of the changelog partition, once no
   * transaction is open on it (settledEnd: the last transaction of the partition's previous
   * owner may count as committed before its records can be read; `onWait` hears of each wait).
   * The cache's entries stay there: a restore reads only the changelog past the checkpoint.
   * A checkpoint past the end (the topic was recreated) or of another topic discards the cache.
   * Throws away any state held in memory: after an aborted transaction this is the reload.
   */
  async restore(log: Log, onWait?: OnUnsettled): Promise<{ fromCache: number; replayed: number }> {
    this.#values.clear()
    this.#dirty = new Map()
    this.#inCache.clear()
    this.#pending = 0
    this.#done = new DoneQueue()
    this.#sweepFromStart = true
    this.#cacheDueAt = undefined
    const end = await settledEnd(log, this.changelog, onWait)
    const saved = this.cache.checkpoint(this.name)
    let from = saved && saved.topic === this.changelog.topic ? saved.next : 0n
    if (from > end) from = 0n
    if (from === 0n) this.cache.clear(this.name)
    const fromCache = (this.#cachedCount = this.cache.count(this.name))
    let replayed = 0
    const reached = await readRange(log, this.changelog, from, end, (records: ConsumedRecord[]) => {
      const changes = new Map<string, V | undefined>()
      const texts = new Map<string, string | null>()
      for (const record of records) {
        if (record.key === undefined) continue
        const text = record.value === null ? null : record.value.toString()
        changes.set(record.key, text === null ? undefined : (JSON.parse(text) as V))
        texts.set(record.key, text)
        replayed++
      }
      this.#write(changes, texts)
    })
    this.#next = reached
    this.flush()
    return { fromCache, replayed }
  }

  /**
   * Applies committed changes to memory, and to the cache when a second has passed since the last
   * flush. `next` is the changelog offset after the transaction's last record of this store;
   * `texts` holds the JSON text of changes whose changelog records were made (`record`).
   */
  commit(changes: Map<string, V | undefined>, next: bigint, texts?: ReadonlyMap<string, string | null>): void {
    this.#write(changes, texts ?? new Map())
    if (next > this.#next) this.#next = next
    if (performance.now() - this.#flushedAt >= 1000) this.flush()
  }

  /**
   * Writes the pending committed changes to the cache, with the checkpoint they reach, in one write
   * (one SQLite transaction). Writing each commit as it came cost a fifth of a loaded process's CPU (bench
   * --profile), mostly rewriting the same keys. The cache may lag memory, never its own checkpoint.
   * Then memory lets go of every value written or read back since the last flush: the cache holds them.
   */
  flush(): void {
    this.#flushedAt = performance.now()
    if (this.#dirty.size > 0 || this.#checkpointed !== this.#next) {
      this.cache.write(this.name, this.#dirty, { topic: this.changelog.topic, next: this.#next })
      this.#dirty = new Map()
      this.#checkpointed = this.#next
      this.#cachedCount += this.#pending
      this.#pending = 0
      this.#done = new DoneQueue()
      this.#sweepFromStart = true
      this.#cacheDueAt = undefined
    }
    this.#values.clear()
    this.#inCache.clear()
  }

  /**
   * Up to `limit` keys whose committed values were done at or before `before`, the cache's first
   * (oldest first), then those written since the last flush. Each is handed out once until the next
   * flush: the caller deletes it, or, if its transaction fails, restores the store (which hands it
   * out again). The cache is not asked while its last answer said nothing more falls due by
   * `before`: a partition actor sweeps with every batch, and at low load, with batches of a few
   * records, a query per batch and store was 4.3% of an order,inventory process's profile (`bun
   * bench latency --profile` at 25% load), for values kept a day; 0.2% since.
   */
  expired(before: number, limit: number): string[] {
    const keys: string[] = []
    if (this.#cacheDueAt === undefined || this.#cacheDueAt <= before) {
      const found = this.cache.expired(this.name, before, limit, this.#sweepFromStart)
      this.#cacheDueAt = found.next ?? Number.POSITIVE_INFINITY
      this.#sweepFromStart = false
      for (const key of found.keys) {
        // A key written since the last flush is judged by that write (if done, it is queued below).
        if (this.#dirty.has(key)) continue
        this.#inCache.set(key, true)
        keys.push(key)
      }
    }
    keys.push(...this.#done.read(before, limit - keys.length, false, (key) => this.#dirty.get(key)?.doneAt))
    return keys
  }

  /** The changelog record of a change (undefined: a deletion, written as a tombstone), pinned to this store's partition. */
  record(key: string, value: V | undefined): ProduceRecord & { value: string | null } {
    return { ...this.changelog, key, value: value === undefined ? null : JSON.stringify(value) }
  }

  /**
   * Applies changes to memory and queues each for the cache with its JSON text from `texts`, made
   * here for a change that has none; counts the entries they add or remove.
   */
  #write(changes: Map<string, V | undefined>, texts: ReadonlyMap<string, string | null>): void {
    for (const [key, value] of changes) {
      const entry = value === undefined ? null : { text: texts.get(key) ?? JSON.stringify(value), doneAt: doneAt(value) }
      const previous = this.#dirty.get(key)
      let held = this.#inCache.get(key)
      // A key written without being read first: the cache says whether it holds it (an empty cache holds nothing).
      if (held === undefined) this.#inCache.set(key, (held = this.#cachedCount > 0 && this.cache.get(this.name, key) !== undefined))
      const existed = previous === undefined ? held : previous !== null
      this.#pending += (entry ? 1 : 0) - (existed ? 1 : 0)
      // A value done before and written again with the same `doneAt` (a note added) is queued already.
      if (entry?.doneAt !== undefined && entry.doneAt !== previous?.doneAt) this.#done.add(key, entry.doneAt)
      if (value === undefined) this.#values.delete(key)
      else this.#values.set(key, value)
      this.#dirty.set(key, entry)
    }
  }
}

const unstaged = Symbol('unstaged')

/**
 * Uncommitted writes over a set of stores (a staged undefined is a deletion). Reads see these
 * writes first, then those of the changes they were forked from; `fork()` stages one record's
 * writes, kept by `merge()` when the record succeeds and dropped otherwise, or a batch's over the
 * batch before it, still in flight.
 */
export class Changes {
  readonly #writes = new Map<string, Map<string, unknown>>()
  /** The JSON text of each write whose changelog record `records()` made, by store: the cache takes the same text. */
  readonly #texts = new Map<string, Map<string, string | null>>()
  /**
   * Forked from; let go once it committed (its writes are in the stores then). A busy actor forks
   * each batch from the one before, so without this the chain that reads walk would grow with
   * every batch for as long as its mailbox never empties.
   */
  #parent: Changes | undefined
  #committed = false

  constructor(
    private readonly stores: Map<string, ChangelogStore<unknown>>,
    parent?: Changes,
  ) {
    this.#parent = parent
  }

  get<V>(store: string, key: string): V | undefined {
    const staged = this.#staged(store, key)
    return (staged === unstaged ? this.#store(store).get(key) : staged) as V | undefined
  }

  /** What this transaction (or one it forked from) staged for `key`, `unstaged` when nothing. */
  #staged(store: string, key: string): unknown {
    const staged = this.#writes.get(store)
    if (staged?.has(key)) return staged.get(key)
    const parent = this.#uncommittedParent()
    return parent ? parent.#staged(store, key) : unstaged
  }

  put<V>(store: string, key: string, value: V | undefined): void {
    this.#store(store)
    let staged = this.#writes.get(store)
    if (!staged) this.#writes.set(store, (staged = new Map()))
    staged.set(key, value)
  }

  /**
   * Stages the deletion of values done at or before `before` (at most `limit` per store), as this
   * transaction sees them: a value it rewrites is deleted only if it stays that old. Returns how many.
   */
  sweep(before: number, limit: number): number {
    let deleted = 0
    for (const [name, store] of this.stores) {
      for (const key of store.expired(before, limit)) {
        // The store judged the committed value; one this transaction staged is judged here.
        const staged = this.#staged(name, key)
        if (staged !== unstaged) {
          const at = doneAt(staged)
          if (at === undefined || at > before) continue
        }
        this.put(name, key, undefined)
        deleted++
      }
    }
    return deleted
  }

  fork(): Changes {
    this.#uncommittedParent()
    return new Changes(this.stores, this)
  }

  /** The changes this was forked from, unless they committed. */
  #uncommittedParent(): Changes | undefined {
    const parent = this.#parent
    if (parent && parent.#committed) this.#parent = undefined
    return this.#parent
  }

  /** Moves this fork's writes into its parent. */
  merge(): void {
    const parent = this.#parent
    if (!parent) return
    for (const [store, writes] of this.#writes) for (const [key, value] of writes) parent.put(store, key, value)
    this.#writes.clear()
  }

  /** The changelog records of every staged write. */
  records(): ProduceRecord[] {
    const records: ProduceRecord[] = []
    for (const [name, writes] of this.#writes) {
      const store = this.#store(name)
      const texts = new Map<string, string | null>()
      for (const [key, value] of writes) {
        const record = store.record(key, value)
        texts.set(key, record.value)
        records.push(record)
      }
      this.#texts.set(name, texts)
    }
    return records
  }

  /** After the transaction committed (`positions`: where its records landed): the writes reach memory and the cache. */
  commit(positions: RecordPosition[]): void {
    for (const [name, writes] of this.#writes) {
      const store = this.#store(name)
      const { topic, partition } = store.changelog
      let last = -1n
      for (const p of positions) if (p.topic === topic && p.partition === partition && p.offset > last) last = p.offset
      store.commit(writes, last + 1n, this.#texts.get(name))
    }
    this.#writes.clear()
    this.#texts.clear()
    this.#committed = true
  }

  #store(name: string): ChangelogStore<unknown> {
    const store = this.stores.get(name)
    if (!store) throw new Error(`no store named ${name}`)
    return store
  }
}
