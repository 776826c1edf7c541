import { rmSync } from 'node:fs'
import type { Logger } from '../log.ts'
import { DoneQueue } from './done-queue.ts'
import { KeyFilter } from './key-filter.ts'
import { runtime, type SqlValue, type SqliteDatabase, type SqliteStatement } from '../runtime/index.ts'

/** How far a store's cached entries reach: its changelog topic, and the offset after the last record they hold. */
export interface Checkpoint {
  topic: string
  next: bigint
}

/** A value as the cache holds it: its JSON text and, for a done value (`Expiring`), its `doneAt`. */
export interface CacheEntry {
  text: string
  doneAt?: number
}

/**
 * The cache of one partition actor's stores (see ChangelogStore): each store's committed values,
 * as JSON text, and the changelog offset they reach. It holds what the store keeps out of memory,
 * and it speeds up a restore, which replays the changelog from the checkpoint; the changelog is
 * the truth.
 */
export interface StateCache {
  checkpoint(store: string): Checkpoint | undefined
  /** How many entries `store` holds. */
  count(store: string): number
  /** The text of one entry of `store`, undefined when it has none. */
  get(store: string, key: string): string | undefined
  /**
   * Keys of `store`'s entries done at or before `before`, oldest first, at most `limit`: from the
   * oldest when `fromStart`, otherwise after the last one the previous call returned. `next` is
   * the `doneAt` of the entry after them, if there is one: no entry not yet returned is done
   * before it.
   */
  expired(store: string, before: number, limit: number, fromStart: boolean): Expired
  /** Forgets every entry of `store`. */
  clear(store: string): void
  /** Applies `changes` (null: deleted) to `store` and moves its checkpoint to `at`, together. */
  write(store: string, changes: ReadonlyMap<string, CacheEntry | null>, at: Checkpoint): void
  close(): void
}

/** What a read of a store's done entries found (see StateCache.expired). */
export interface Expired {
  keys: string[]
  next?: number
}

/** Where a store's sweep has read the done entries up to, by `doneAt` then key. */
interface DoneCursor {
  at: number
  key: string
}

const beforeAll: DoneCursor = { at: Number.MIN_SAFE_INTEGER, key: '' }

/** How many keys a filter's making reads from the file at a time. */
const keysPerPage = 10_000

/**
 * The cache in a SQLite file, as an actor on Kafka keeps it (`--data-dir`): a restarted process
 * restores from it. A partial index on `done_at` gives the sweep the oldest done entries without
 * holding their keys in memory.
 */
export class SqliteCache implements StateCache {
  readonly #write: (store: string, changes: ReadonlyMap<string, CacheEntry | null>, at: Checkpoint) => void
  readonly #get: SqliteStatement<{ value: string }, [string, string]>
  readonly #count: SqliteStatement<{ n: number }, [string]>
  readonly #checkpoint: SqliteStatement<{ topic: string; next_offset: string }, [string]>
  readonly #clear: SqliteStatement<never, [string]>
  readonly #expired: SqliteStatement<{ key: string; done_at: number }, [string, number, string, number]>
  readonly #keysAfter: SqliteStatement<{ key: string }, [string, string, number]>
  readonly #cursors = new Map<string, DoneCursor>()
  /**
   * Each store's filter of the keys the file holds (KeyFilter), made from the file at a store's
   * first lookup and again once it fills: a lookup of a key it has never held asks SQLite nothing.
   */
  readonly #filters = new Map<string, KeyFilter>()
  /** Every statement prepared on the connection: released at close, or bun:sqlite keeps the connection (and its lock) open. */
  readonly #statements: Array<SqliteStatement<never, never>> = []

  /**
   * `minKeys`: the fewest keys a store's filter is sized for; it is sized for twice the keys the
   * store holds, at 10 bits a key (32 KiB for 16,384 keys, 4 MiB for a store of a million).
   */
  constructor(
    private readonly db: SqliteDatabase,
    private readonly minKeys = 16_384,
  ) {
    try {
      const columns = this.#prepare<{ name: string }, []>("SELECT name FROM pragma_table_info('kv')").all()
      if (columns.length > 0 && !columns.some((c) => c.name === 'done_at')) {
        // A file of the layout before `done_at`: it only caches the changelog, so it is dropped and refilled from there.
        db.exec('DROP TABLE kv')
        db.exec('DROP TABLE IF EXISTS checkpoint')
      }
      db.exec('CREATE TABLE IF NOT EXISTS kv (store TEXT NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL, done_at INTEGER, PRIMARY KEY (store, key))')
      db.exec('CREATE INDEX IF NOT EXISTS kv_done ON kv (store, done_at, key) WHERE done_at IS NOT NULL')
      db.exec('CREATE TABLE IF NOT EXISTS checkpoint (store TEXT PRIMARY KEY, topic TEXT NOT NULL, next_offset TEXT NOT NULL)')
      // Prepared once: preparing per write was 7.5% of a loaded process's CPU (bench --profile).
      // An upsert rewrites a key's row in place; INSERT OR REPLACE deleted it and inserted a new
      // row, moving the primary key's index entry too: 14.1 to 15.0 µs of CPU a row against 17.2
      // to 17.7 (`bun bench/micro/state-cache.ts`, three runs each, alternated).
      const insert = this.#prepare<never, [string, string, string, number | null]>('INSERT INTO kv (store, key, value, done_at) VALUES (?, ?, ?, ?) ON CONFLICT (store, key) DO UPDATE SET value = excluded.value, done_at = excluded.done_at')
      const remove = this.#prepare<never, [string, string]>('DELETE FROM kv WHERE store = ? AND key = ?')
      const checkpoint = this.#prepare<never, [string, string, string]>('INSERT OR REPLACE INTO checkpoint (store, topic, next_offset) VALUES (?, ?, ?)')
      this.#get = this.#prepare('SELECT value FROM kv WHERE store = ? AND key = ?')
      this.#count = this.#prepare('SELECT count(*) AS n FROM kv WHERE store = ?')
      this.#checkpoint = this.#prepare('SELECT topic, next_offset FROM checkpoint WHERE store = ?')
      this.#clear = this.#prepare('DELETE FROM kv WHERE store = ?')
      this.#keysAfter = this.#prepare('SELECT key FROM kv WHERE store = ? AND key > ? ORDER BY key LIMIT ?')
      // One row past those due: when it is not due, its done_at says when the next one will be.
      this.#expired = this.#prepare('SELECT key, done_at FROM kv WHERE store = ?1 AND done_at IS NOT NULL AND (done_at, key) > (?2, ?3) ORDER BY done_at, key LIMIT ?4')
      // The values and the offset they reach are written together: a restart replays only what the cache lacks.
      this.#write = db.transaction((store: string, changes: ReadonlyMap<string, CacheEntry | null>, at: Checkpoint) => {
        for (const [key, entry] of changes) {
          if (entry === null) remove.run(store, key)
          else insert.run(store, key, entry.text, entry.doneAt ?? null)
        }
        checkpoint.run(store, at.topic, at.next.toString())
      })
    } catch (error) {
      this.close()
      throw error
    }
  }

  #prepare<Row, Params extends SqlValue[]>(sql: string): SqliteStatement<Row, Params> {
    const statement = this.db.prepare<Row, Params>(sql)
    this.#statements.push(statement as unknown as SqliteStatement<never, never>)
    return statement
  }

  checkpoint(store: string): Checkpoint | undefined {
    const row = this.#checkpoint.get(store)
    return row && { topic: row.topic, next: BigInt(row.next_offset) }
  }

  count(store: string): number {
    return this.#count.get(store)?.n ?? 0
  }

  get(store: string, key: string): string | undefined {
    if (!this.#filter(store).has(key)) return undefined
    return this.#get.get(store, key)?.value
  }

  /** `store`'s filter of keys, made from the file when it has none or the one it has is full. */
  #filter(store: string): KeyFilter {
    const held = this.#filters.get(store)
    if (held && !held.full) return held
    const filter = new KeyFilter(Math.max(this.minKeys, 2 * this.count(store)))
    // The pages below start after '': the empty key, if the store holds it, is let through this way.
    filter.add('')
    // Read in pages along the primary key, so that a big store's keys are never all in memory at once.
    for (let after = ''; ; ) {
      const page = this.#keysAfter.all(store, after, keysPerPage)
      for (const row of page) filter.add(row.key)
      if (page.length < keysPerPage) break
      after = page.at(-1)!.key
    }
    this.#filters.set(store, filter)
    return filter
  }

  expired(store: string, before: number, limit: number, fromStart: boolean): Expired {
    const after = (!fromStart && this.#cursors.get(store)) || beforeAll
    const rows = this.#expired.all(store, after.at, after.key, limit + 1)
    let due = 0
    while (due < rows.length && due < limit && rows[due]!.done_at <= before) due++
    const last = rows[due - 1]
    if (last) this.#cursors.set(store, { at: last.done_at, key: last.key })
    else if (fromStart) this.#cursors.delete(store)
    return { keys: rows.slice(0, due).map((row) => row.key), next: rows[due]?.done_at }
  }

  clear(store: string): void {
    this.#clear.run(store)
    this.#cursors.delete(store)
    this.#filters.delete(store)
  }

  write(store: string, changes: ReadonlyMap<string, CacheEntry | null>, at: Checkpoint): void {
    this.#write(store, changes, at)
    // Made after the write when the store has none yet: it reads the keys just written from the file.
    const filter = this.#filters.get(store)
    if (!filter) return
    // A deleted key stays in: the filter only ever says "maybe" of it, and SQLite answers.
    for (const [key, entry] of changes) if (entry !== null) filter.add(key)
  }

  close(): void {
    for (const statement of this.#statements.splice(0)) statement.finalize()
    this.db.close()
  }
}

/**
 * The cache in memory, as an actor on the memory bus keeps it: the log dies with the process, so
 * a file would outlive what it caches. An in-memory SQLite database did the same job at ~7 µs per
 * row written; with this Map the embedded bus completed 3,521 / 3,450 / 3,500 orders/s against
 * 3,321 / 3,253 / 3,482 (three alternating pairs of `bun bench throughput --bus=memory`).
 * The sweep's index is a DoneQueue.
 */
export class MemoryCache implements StateCache {
  readonly #stores = new Map<string, MemoryStore>()

  #store(name: string): MemoryStore {
    let store = this.#stores.get(name)
    if (!store) this.#stores.set(name, (store = new MemoryStore()))
    return store
  }

  checkpoint(store: string): Checkpoint | undefined {
    return this.#stores.get(store)?.at
  }

  count(store: string): number {
    return this.#stores.get(store)?.entries.size ?? 0
  }

  get(store: string, key: string): string | undefined {
    return this.#stores.get(store)?.entries.get(key)
  }

  expired(store: string, before: number, limit: number, fromStart: boolean): Expired {
    return this.#store(store).expired(before, limit, fromStart)
  }

  clear(store: string): void {
    this.#stores.delete(store)
  }

  write(name: string, changes: ReadonlyMap<string, CacheEntry | null>, at: Checkpoint): void {
    const store = this.#store(name)
    for (const [key, entry] of changes) store.set(key, entry)
    store.at = at
  }

  close(): void {}
}

/** One store of a MemoryCache. */
class MemoryStore {
  /** Texts, and the `doneAt` of the done ones apart: no object per entry for the collector to trace. */
  readonly entries = new Map<string, string>()
  readonly #doneAt = new Map<string, number>()
  readonly #done = new DoneQueue()
  at?: Checkpoint

  set(key: string, entry: CacheEntry | null): void {
    if (entry === null) {
      this.entries.delete(key)
      this.#doneAt.delete(key)
      return
    }
    const at = entry.doneAt
    if (at === undefined) this.#doneAt.delete(key)
    // Rewritten with the same `doneAt` (a note added): queued already.
    else if (at !== this.#doneAt.get(key)) {
      this.#done.add(key, at)
      this.#doneAt.set(key, at)
    }
    this.entries.set(key, entry.text)
  }

  expired(before: number, limit: number, fromStart: boolean): Expired {
    const keys = this.#done.read(before, limit, fromStart, (key) => this.#doneAt.get(key))
    return { keys, next: this.#done.upcoming }
  }
}

/**
 * Opens a state cache file the way every actor uses it: WAL, normal sync, and the file locked for
 * this connection alone (a data directory belongs to one process at a time). Unlocked, every
 * statement took SQLite's shared locks afresh: a lookup of a key the cache does not hold cost 2.2
 * µs against 0.6 in a table of 600,000 rows (`/tmp` file, 200,000 lookups, two runs each), and the
 * store asks the cache for every new key.
 */
function openSqliteCache(path: string): SqliteCache {
  const db = runtime.openSqlite(path)
  try {
    // Before the first access in WAL mode, so that SQLite keeps no shared-memory index either.
    db.exec('PRAGMA locking_mode = EXCLUSIVE')
    db.exec('PRAGMA journal_mode = WAL')
    db.exec('PRAGMA synchronous = NORMAL')
  } catch (error) {
    db.close()
    throw error
  }
  return new SqliteCache(db)
}

/**
 * Opens the cache file at `path` (none: a MemoryCache) and runs `use` on it. A file SQLite calls
 * corrupt is discarded, logged, and `use` runs again on an empty cache, which then fills from the
 * changelog: a damaged file never becomes a crash loop.
 */
export async function withCache<T>(path: string | undefined, logger: Logger, use: (cache: StateCache) => Promise<T>): Promise<{ cache: StateCache; result: T }> {
  if (path === undefined) {
    const cache = new MemoryCache()
    return { cache, result: await use(cache) }
  }
  let cache: StateCache | undefined
  try {
    cache = openSqliteCache(path)
    return { cache, result: await use(cache) }
  } catch (error) {
    cache?.close()
    if (!runtime.isSqliteCorrupt(error)) throw error
    logger.warn({ event: 'state:cache:discarded', path, err: error }, `discarding the corrupt state cache ${path}; rebuilding it from the changelog`)
    for (const suffix of ['', '-wal', '-shm']) rmSync(`${path}${suffix}`, { force: true })
    cache = openSqliteCache(path)
    return { cache, result: await use(cache) }
  }
}
