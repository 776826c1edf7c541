import type { ConsumedRecord, Headers } from '../types.ts'

export interface StoredRecord {
  key: string | undefined
  /**
   * A text value stays text until a reader reads it (`storedValue`): most are state changelogs',
   * which nobody reads but a restore, and encoding each at the append was 4.4% of an embedded
   * process's profile (`bun bench throughput --bus=memory --profile`).
   */
  value: Buffer | string | null
  headers: Headers
  timestamp: number
}

/** The value of `stored` as bytes, encoded once, for every reader. */
function storedValue(stored: StoredRecord): Buffer | null {
  const value = stored.value
  if (typeof value !== 'string') return value
  return (stored.value = Buffer.from(value))
}

/**
 * Up to `max` records of `log` (partition `partition` of `topic`) from `from` on, as the port
 * carries them, and the offset the next read goes on from (see `PartitionLog.read`). Field by
 * field, the headers shared: spreading each stored record and copying its headers was 6% of an
 * embedded process's CPU, the api's followers reading every committed record (`bun bench
 * throughput --bus=memory --profile`).
 */
export function consumedFrom(log: PartitionLog, topic: string, partition: number, from: number, max: number, generation: number): { records: ConsumedRecord[]; next: number } {
  const records: ConsumedRecord[] = []
  const next = log.read(from, max, (stored, offset) => {
    records.push({ topic, partition, offset: BigInt(offset), key: stored.key, value: storedValue(stored), headers: stored.headers, timestamp: stored.timestamp, generation })
  })
  return { records, next }
}

/** How a topic is cleaned (its `cleanup.policy` and `retention.ms`, as a broker reads them). */
export interface Cleanup {
  compact: boolean
  /** Records older than this are dropped (once every group reading them committed past them). */
  retentionMs: number
  /** How long a compacted topic keeps a tombstone (`delete.retention.ms`). */
  tombstoneMs: number
}

/** A partition that keeps every record (a log made on its own, as in tests). */
const keepAll: Cleanup = { compact: false, retentionMs: Number.POSITIVE_INFINITY, tombstoneMs: Number.POSITIVE_INFINITY }

/**
 * One partition of the memory log: its records by offset from the log start on, as a broker's
 * partition after retention and compaction. Records before `start` are gone (retention); a
 * compacted record leaves its offset empty, and reads step over it, as over a compacted offset on
 * Kafka. Offsets never move.
 */
export class PartitionLog {
  /** The records from offset `#start` on, from index `#head` (the indexes before it are dropped). */
  #slots: Array<StoredRecord | undefined> = []
  #head = 0
  #start = 0
  /** Records appended since the last compaction (see `compact`). */
  #sinceCompaction = 0

  /** `cleanup`: how its topic is cleaned (see `clean`). */
  constructor(private readonly cleanup: Cleanup = keepAll) {}

  /** The first offset still held. */
  get start(): number {
    return this.#start
  }

  /** The offset the next record takes. */
  get end(): number {
    return this.#start + this.#slots.length - this.#head
  }

  /** Appends `record`; returns its offset. */
  append(record: StoredRecord): number {
    this.#slots.push(record)
    this.#sinceCompaction++
    return this.end - 1
  }

  /**
   * Hands `visit` up to `max` records from `from` on (from the log start when `from` is before it),
   * stepping over compacted offsets; returns the offset after the last one looked at.
   */
  read(from: number, max: number, visit: (record: StoredRecord, offset: number) => void): number {
    let offset = Math.max(from, this.#start)
    const end = this.end
    for (let taken = 0; offset < end && taken < max; offset++) {
      const record = this.#slots[this.#head + offset - this.#start]
      if (record === undefined) continue
      visit(record, offset)
      taken++
    }
    return offset
  }

  /**
   * Cleans the partition as of `now` by its topic's `cleanup`: compaction, then retention up to
   * `committed()`, the offset every group reading it has committed past (asked only when retention applies).
   */
  clean(now: number, committed: () => number): void {
    const { compact, retentionMs, tombstoneMs } = this.cleanup
    if (compact) this.compact(now - tombstoneMs)
    if (retentionMs !== Number.POSITIVE_INFINITY) this.retain(committed(), now - retentionMs)
  }

  /**
   * Drops the records before `before` that are older than `olderThan` (a timestamp), as a broker's
   * time-based retention does (records are appended in time order).
   */
  retain(before: number, olderThan: number): void {
    this.#dropHead(before, (record) => record.timestamp < olderThan)
  }

  /** Drops records from the start on while they are before `before` and `drop` says so (compacted offsets always). */
  #dropHead(before: number, drop: (record: StoredRecord) => boolean): void {
    const slots = this.#slots
    let head = this.#head
    const stop = this.#head + Math.min(before, this.end) - this.#start
    while (head < stop && (slots[head] === undefined || drop(slots[head]!))) slots[head++] = undefined
    this.#start += head - this.#head
    this.#head = head
    // The dropped slots are let go once they are half the array, so that dropping stays O(1) a record.
    if (head > 1024 && head * 2 > slots.length) {
      this.#slots = slots.slice(head)
      this.#head = 0
    }
  }

  /**
   * Compacts the partition once the records appended since the last compaction (1,024 at least)
   * are as many as the offsets it spanned before them, so that each pass, which walks every offset
   * held, is paid for by as many appends: of each key only its latest record stays, and a latest
   * record that is a tombstone (a null value) goes too once older than `tombstonesBefore`, as
   * Kafka's log cleaner keeps a tombstone for `delete.retention.ms`. Records without a key stay. A
   * compacted offset keeps an empty slot (8 bytes) until the start moves past it.
   */
  compact(tombstonesBefore: number): void {
    const held = this.end - this.#start
    if (this.#sinceCompaction * 2 < held || this.#sinceCompaction < 1024) return
    this.#sinceCompaction = 0
    const seen = new Set<string>()
    const slots = this.#slots
    for (let i = slots.length - 1; i >= this.#head; i--) {
      const record = slots[i]
      if (record === undefined || record.key === undefined) continue
      if (seen.has(record.key) || (record.value === null && record.timestamp < tombstonesBefore)) slots[i] = undefined
      seen.add(record.key)
    }
    this.#dropHead(this.end, () => false)
  }
}
