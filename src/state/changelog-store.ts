import type { Log } from '../kafka/port.ts'
import { type OnUnsettled, readRange, settledEnd } from '../kafka/read-to-end.ts'
import type { ConsumedRecord, ProduceRecord, RecordPosition, TopicPartition } from '../kafka/types.ts'
import type { StateCache } from './cache.ts'

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
 * this keeps the state in memory and caches it (StateCache: SQLite on Kafka, a Map on the memory
 * bus), tagged with the changelog offset it has caught up to. Writes go through `Changes`: they
 * become changelog records in the actor's transaction and reach the cache only after it commits. A
 * deletion is a tombstone (a null value) on the changelog, which compaction later removes, and a
 * deleted entry in the cache: the state, the changelog and the restore time are bounded by what is
 * live, not by history.
 *
 * Memory holds only what was written or read since the last flush (at most a second ago): once a
 * flush has written a value to the cache, it leaves memory, and the store keeps its key (and, for
 * a done value, its `doneAt`, for the sweep). A read of such a value takes it back from the cache
 * until the next flush. So memory holds the state being worked on, not every live order, nor the
 * day of finished ones kept for the deduplication window; the cache file holds the rest, as Kafka
 * Streams keeps its state in RocksDB rather than on the JVM's heap.
 */
export class ChangelogStore<V> {
  /** Values written or read since the last flush. */
  readonly #values = new Map<string, V>()
  /**
   * Committed writes not yet in the cache, as their JSON text (null: deleted): flushed at most once
   * a second, so hot keys coalesce. The text is the changelog record's own, made once per write.
   */
  #dirty = new Map<string, string | null>()
  /** Values in the cache alone: key -> `doneAt` (undefined: live). */
  readonly #cached = new Map<string, number | undefined>()
  /** Keys read back from the cache since the last flush: they leave memory again at the next. */
  #readBack: string[] = []
  /**
   * Keys of done values (`Expiring`) and their `doneAt`, side by side, oldest first from
   * `#doneHead`; checked against the value when taken. Two arrays rather than an object per entry,
   * which was a third of the heap a finished entry holds.
   */
  #doneKeys: string[] = []
  #doneAts: number[] = []
  #doneHead = 0
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
    if (value !== undefined || !this.#cached.has(key)) return value
    const text = this.cache.get(this.name, key)
    if (text === undefined) throw new Error(`the state cache lost ${this.name}/${key}, a value it held (the cache file was changed under the process)`)
    const read = JSON.parse(text) as V
    this.#cached.delete(key)
    this.#values.set(key, read)
    this.#readBack.push(key)
    return read
  }

  /** The `doneAt` of the committed value of `key`, read without loading a value that left memory. */
  doneAt(key: string): number | undefined {
    const value = this.#values.get(key)
    return value !== undefined ? doneAt(value) : this.#cached.get(key)
  }

  /** Entries of the store, in memory or not. */
  get size(): number {
    return this.#values.size + this.#cached.size
  }

  /** Entries held in memory: those written or read since the last flush. */
  get resident(): number {
    return this.#values.size
  }

  /**
   * Loads the cache, then catches up from its checkpoint to the end of the changelog partition,
   * once no transaction is open on it (settledEnd: the last transaction of the partition's previous
   * owner may count as committed before its records can be read; `onWait` hears of each wait).
   * A checkpoint past the end (the topic was recreated) or of another topic discards the cache.
   * Throws away any state held in memory: after an aborted transaction this is the reload.
   */
  async restore(log: Log, onWait?: OnUnsettled): Promise<{ fromCache: number; replayed: number }> {
    this.#values.clear()
    this.#cached.clear()
    this.#readBack = []
    this.#dirty.clear()
    this.#doneKeys = []
    this.#doneAts = []
    this.#doneHead = 0
    const end = await settledEnd(log, this.changelog, onWait)
    const saved = this.cache.checkpoint(this.name)
    let from = saved && saved.topic === this.changelog.topic ? saved.next : 0n
    if (from > end) from = 0n
    if (from === 0n) this.cache.clear(this.name)
    // The cache's values stay there alone; each is parsed once, to learn its `doneAt`.
    for (const [key, text] of this.cache.entries(this.name)) {
      const at = doneAt(JSON.parse(text))
      this.#cached.set(key, at)
      if (at !== undefined) this.#queueDone(key, at)
    }
    const fromCache = this.size
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
    this.#sortDone()
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
   * Then every value written or read back since the last flush leaves memory (the cache holds it).
   */
  flush(): void {
    this.#flushedAt = performance.now()
    for (const key of this.#readBack) this.#leaveMemory(key)
    this.#readBack = []
    if (this.#dirty.size === 0 && this.#checkpointed === this.#next) return
    this.cache.write(this.name, this.#dirty, { topic: this.changelog.topic, next: this.#next })
    for (const key of this.#dirty.keys()) this.#leaveMemory(key)
    this.#dirty = new Map()
    this.#checkpointed = this.#next
  }

  /**
   * Up to `limit` keys whose values were done at or before `before`, oldest first. They are taken
   * off the queue: the caller deletes them, or, if its transaction fails, restores the store (which
   * queues them again).
   */
  expired(before: number, limit: number): string[] {
    const keys: string[] = []
    while (this.#doneHead < this.#doneKeys.length && keys.length < limit) {
      const key = this.#doneKeys[this.#doneHead]!
      const at = this.#doneAts[this.#doneHead]!
      if (at > before) break
      this.#doneHead++
      // A key deleted, or written again since it was queued, is queued under its current value.
      if (this.doneAt(key) === at) keys.push(key)
    }
    if (this.#doneHead > 1024 && this.#doneHead * 2 > this.#doneKeys.length) {
      this.#doneKeys = this.#doneKeys.slice(this.#doneHead)
      this.#doneAts = this.#doneAts.slice(this.#doneHead)
      this.#doneHead = 0
    }
    return keys
  }

  #queueDone(key: string, at: number): void {
    this.#doneKeys.push(key)
    this.#doneAts.push(at)
  }

  /** Orders the done queue by `doneAt` (a restore reads the cache in no particular order). */
  #sortDone(): void {
    const keys = this.#doneKeys
    const ats = this.#doneAts
    const order = keys.map((_, i) => i).sort((a, b) => ats[a]! - ats[b]!)
    this.#doneKeys = order.map((i) => keys[i]!)
    this.#doneAts = order.map((i) => ats[i]!)
  }

  /** A value the cache holds leaves memory (a deleted one is in neither). */
  #leaveMemory(key: string): void {
    const value = this.#values.get(key)
    if (value === undefined) return
    this.#values.delete(key)
    this.#cached.set(key, doneAt(value))
  }

  /** The changelog record of a change (undefined: a deletion, written as a tombstone), pinned to this store's partition. */
  record(key: string, value: V | undefined): ProduceRecord & { value: string | null } {
    return { ...this.changelog, key, value: value === undefined ? null : JSON.stringify(value) }
  }

  /**
   * Applies changes to memory and queues each for the cache with its JSON text from `texts`, made
   * here for a change that has none.
   */
  #write(changes: Map<string, V | undefined>, texts: ReadonlyMap<string, string | null>): void {
    for (const [key, value] of changes) {
      if (value === undefined) this.#values.delete(key)
      else {
        const at = doneAt(value)
        // A value done before and written again with the same `doneAt` (a note added) is queued already.
        if (at !== undefined && at !== this.doneAt(key)) this.#queueDone(key, at)
        this.#values.set(key, value)
      }
      this.#cached.delete(key)
      this.#dirty.set(key, value === undefined ? null : (texts.get(key) ?? JSON.stringify(value)))
    }
  }
}

const unstaged = Symbol('unstaged')

/**
 * Uncommitted writes over a set of stores (a staged undefined is a deletion). Reads see these
 * writes first; `fork()` stages one record's writes, kept by `merge()` when the record succeeds and
 * dropped otherwise.
 */
export class Changes {
  readonly #writes = new Map<string, Map<string, unknown>>()
  /** The JSON text of each write whose changelog record `records()` made, by store: the cache takes the same text. */
  readonly #texts = new Map<string, Map<string, string | null>>()

  constructor(
    private readonly stores: Map<string, ChangelogStore<unknown>>,
    private readonly parent?: Changes,
  ) {}

  get<V>(store: string, key: string): V | undefined {
    const staged = this.#staged(store, key)
    return (staged === unstaged ? this.#store(store).get(key) : staged) as V | undefined
  }

  /** What this transaction (or one it forked from) staged for `key`, `unstaged` when nothing. */
  #staged(store: string, key: string): unknown {
    const staged = this.#writes.get(store)
    if (staged?.has(key)) return staged.get(key)
    return this.parent ? this.parent.#staged(store, key) : unstaged
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
        const at = this.#doneAt(name, key)
        if (at === undefined || at > before) continue
        this.put(name, key, undefined)
        deleted++
      }
    }
    return deleted
  }

  /** The `doneAt` of the value this transaction sees, without loading one that left memory. */
  #doneAt(store: string, key: string): number | undefined {
    const staged = this.#staged(store, key)
    return staged === unstaged ? this.#store(store).doneAt(key) : doneAt(staged)
  }

  fork(): Changes {
    return new Changes(this.stores, this)
  }

  /** Moves this fork's writes into its parent. */
  merge(): void {
    if (!this.parent) return
    for (const [store, writes] of this.#writes) for (const [key, value] of writes) this.parent.put(store, key, value)
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
  }

  #store(name: string): ChangelogStore<unknown> {
    const store = this.stores.get(name)
    if (!store) throw new Error(`no store named ${name}`)
    return store
  }
}
