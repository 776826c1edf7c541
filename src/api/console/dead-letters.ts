import type { DeadLetterEntry, DeadLetterReplayed } from '../../../schemas/console.ts'
import { schemaErrorHeader, jsonOf } from '../../events/envelope.ts'
import { ConflictError, FencedError, NotFoundError, UnavailableError } from '../../errors.ts'
import type { Log, TransactionalProducer } from '../../kafka/port.ts'
import { readRange, readToEnd } from '../../kafka/read-to-end.ts'
import type { ConsumedRecord, Headers } from '../../kafka/types.ts'
import type { Logger } from '../../log.ts'
import { TopicTail } from '../../state/topic-tail.ts'
import { TopicView } from '../../state/topic-view.ts'
import type { TopicNames } from '../../topology.ts'
import { nowIso } from '../../time.ts'
import { BoundedMap } from '../../bounded-map.ts'

export interface DeadLetterDeskOptions {
  log: Log
  logger: Logger
  topics: TopicNames
  topicPrefix: string
  /** Dead letters the console lists (the newest). */
  keep?: number
}

/** The headers the dead-letter step adds (actors/runtime/transactional/dead-letter.ts); a replay removes them. */
const dlqHeader = 'shop.dlq.'

/**
 * The dead-letter topic as an operator works it: the newest records with where they came from and
 * why they failed, and replay, which sends a record back to its origin topic and partition (key,
 * value bytes and headers as they were) once its cause is fixed.
 *
 * A replay happens once, whoever asks and how often: the record and a mark on
 * `shop.dlq.replays` are written in one transaction, by a transactional id per DLQ partition that
 * every api process shares. Each replay first `init`s that id, which fences a replay of another
 * process in flight on the partition and settles its transaction, then reads the partition's marks
 * to their end: a record already marked is refused (409).
 */
export class DeadLetterDesk {
  readonly #latest: BoundedMap<string, DeadLetterEntry>
  readonly #tail: TopicTail
  readonly #replays: TopicView<DeadLetterReplayed>
  readonly #producers = new Map<number, TransactionalProducer>()
  /** One replay at a time per DLQ partition in this process (they share one transactional id). */
  readonly #turns = new Map<number, Promise<unknown>>()

  constructor(private readonly options: DeadLetterDeskOptions) {
    const { log, logger, topics } = options
    this.#latest = new BoundedMap(options.keep ?? 100)
    const keep = BigInt(this.#latest.capacity)
    this.#tail = new TopicTail({ log, logger, topic: topics.deadLetter, from: (end) => (end > keep ? end - keep : 0n), onRecords: (records) => this.#add(records) })
    this.#replays = new TopicView<DeadLetterReplayed>({ log, logger, topic: topics.deadLetterReplays, decode: (r) => markOf(r.value) })
  }

  get caughtUp(): boolean {
    return this.#tail.caughtUp && this.#replays.caughtUp
  }

  async start(): Promise<void> {
    await Promise.all([this.#tail.start(), this.#replays.start()])
  }

  async stop(): Promise<void> {
    await Promise.all([this.#tail.stop(), this.#replays.stop()])
    await Promise.all([...this.#producers.values()].map((p) => p.close()))
  }

  /** The newest dead letters first, each with its replay when it was replayed. */
  list(): DeadLetterEntry[] {
    return [...this.#latest.values()]
      .map((entry) => {
        const replayed = this.#replays.get(markKey(entry.partition, BigInt(entry.offset)))
        return replayed ? { ...entry, replayed } : entry
      })
      .sort((a, b) => b.at.localeCompare(a.at) || Number(BigInt(b.offset) - BigInt(a.offset)))
  }

  /** Replays the DLQ record at `partition`@`offset` to its origin (see the class); resolves with the mark written. */
  replay(partition: number, offset: bigint): Promise<DeadLetterReplayed> {
    const turn = (this.#turns.get(partition) ?? Promise.resolve()).catch(() => {}).then(() => this.#replay(partition, offset))
    this.#turns.set(partition, turn)
    return turn
  }

  async #replay(partition: number, offset: bigint): Promise<DeadLetterReplayed> {
    const { log, topics } = this.options
    const ends = await log.admin.endOffsets(topics.deadLetter)
    if (partition >= ends.length || offset >= ends[partition]) throw new NotFoundError(`no dead-lettered record at ${topics.deadLetter}:${partition}@${offset}`)
    const producer = this.#producer(partition)
    // Fences a replay of another api process in flight on this partition and settles what it left.
    await producer.init()
    let record: ConsumedRecord | undefined
    await readRange(log, { topic: topics.deadLetter, partition }, offset, offset + 1n, (records) => {
      record = records.find((r) => r.offset === offset)
    })
    if (!record) throw new NotFoundError(`no dead-lettered record at ${topics.deadLetter}:${partition}@${offset} (a transaction marker, or removed by retention)`)
    const origin = originOf(record)
    if (!origin) throw new ConflictError(`${topics.deadLetter}:${partition}@${offset} has no shop.dlq.topic header: it was not dead-lettered by shop, so its origin is unknown`)
    const key = markKey(partition, offset)
    let earlier: DeadLetterReplayed | undefined
    await readToEnd(log, { topic: topics.deadLetterReplays, partition }, 0n, (records) => {
      for (const r of records) if (r.key === key) earlier = markOf(r.value)
    })
    if (earlier) throw new ConflictError(`${topics.deadLetter}:${partition}@${offset} was already replayed at ${earlier.at}, to ${earlier.to.topic}:${earlier.to.partition}`)
    const transaction = await producer.begin()
    try {
      await transaction.send([{ topic: origin.topic, partition: origin.partition, key: record.key, value: record.value, headers: withoutDlqHeaders(record.headers) }])
      const mark: DeadLetterReplayed = { partition, offset: String(offset), to: origin, at: nowIso() }
      await transaction.send([{ topic: topics.deadLetterReplays, partition, key, value: JSON.stringify(mark) }])
      const [sent] = await transaction.commit()
      return { ...mark, to: { ...origin, offset: String(sent.offset) } }
    } catch (error) {
      await transaction.abort().catch(() => {})
      if (error instanceof FencedError) throw new UnavailableError('another api process replayed from this dead-letter partition at the same moment: try again', { cause: error })
      throw error
    }
  }

  #producer(partition: number): TransactionalProducer {
    let producer = this.#producers.get(partition)
    if (!producer) this.#producers.set(partition, (producer = this.options.log.transactionalProducer({ transactionalId: `${this.options.topicPrefix}shop-dlq-replayer-${partition}` })))
    return producer
  }

  #add(records: ConsumedRecord[]): void {
    for (const record of records) {
      const origin = originOf(record)
      const h = record.headers
      this.#latest.set(markKey(record.partition, record.offset), {
        partition: record.partition,
        offset: String(record.offset),
        key: record.key ?? null,
        value: record.value === null ? '' : jsonOf(record.value).slice(0, 2048),
        origin: origin ? { topic: origin.topic, partition: origin.partition, offset: h['shop.dlq.offset'] ?? '' } : { topic: '', partition: -1, offset: '' },
        group: h['shop.dlq.group'] ?? '',
        error: h['shop.dlq.error'] ?? '',
        errorCode: h['shop.dlq.error.code'] ?? '',
        attempts: Number(h['shop.dlq.attempts'] ?? 0),
        at: h['shop.dlq.time'] ?? new Date(record.timestamp).toISOString(),
      })
    }
  }
}

const markKey = (partition: number, offset: bigint) => `${partition}:${offset}`

/** A replay mark; one that is not JSON counts as none (a view must not stop on a bad record). */
function markOf(value: Buffer | null): DeadLetterReplayed | undefined {
  if (value === null) return undefined
  try {
    return JSON.parse(value.toString()) as DeadLetterReplayed
  } catch {
    return undefined
  }
}

function originOf(record: ConsumedRecord): { topic: string; partition: number } | undefined {
  const topic = record.headers['shop.dlq.topic']
  const partition = Number(record.headers['shop.dlq.partition'])
  return topic && Number.isInteger(partition) && partition >= 0 ? { topic, partition } : undefined
}

/** The record's own headers: the dead-letter step's and the schema check's removed. */
function withoutDlqHeaders(headers: Headers): Headers {
  return Object.fromEntries(Object.entries(headers).filter(([name]) => !name.startsWith(dlqHeader) && name !== schemaErrorHeader))
}
