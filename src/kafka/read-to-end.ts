import { LogError } from '../errors.ts'
import { backoffDelay, sleep } from '../time.ts'
import type { Log } from './port.ts'
import type { ConsumedRecord, TopicPartition } from './types.ts'

/**
 * Reads one partition from `from` up to its last stable offset as it was when the call began,
 * handing records to `onRecords` in offset order. Resolves with the offset reached (the end).
 * This is how actors restore state from a changelog before they process anything.
 *
 * `atLeast` reads on until that offset even when the stable offset is still below it: a writer
 * reading back the transaction it has just committed passes the offset after its last record
 * (a commit resolves before the broker has written its markers; see Transaction.commit).
 */
export async function readToEnd(
  log: Log,
  tp: TopicPartition,
  from: bigint,
  onRecords: (records: ConsumedRecord[]) => unknown,
  atLeast = 0n,
): Promise<bigint> {
  const end = (await log.admin.endOffsets(tp.topic))[tp.partition]
  return readRange(log, tp, from, end > atLeast ? end : atLeast, onRecords)
}

/** How a partition's open transaction is waited for: polls with backoff, for at most `maxMs`. */
const settling = { backoff: { minMs: 10, maxMs: 1_000, factor: 2 }, maxMs: 60_000 }

/** Told of each wait of settledEnd: the partition's last stable offset and its high watermark then. */
export type OnUnsettled = (ends: { stable: bigint; high: bigint }) => void

/**
 * The end of a partition that one owner writes (a changelog) once no transaction is open on it:
 * its last stable offset, once that has reached the high watermark seen first. What a new owner
 * restores to. The last stable offset alone is not enough: a previous owner's last transaction can
 * show as committed in the group's offsets while its commit marker is not yet written on this
 * partition (the coordinator writes the markers of __consumer_offsets and of the other partitions
 * separately), and a restore to the last stable offset would then leave out its records while their
 * inputs count as processed. Waiting also covers a transaction that is open and will abort, until
 * its owner's successor fences it or the broker aborts it after its transaction timeout. Rejects
 * retryably if the partition stays unsettled for `settling.maxMs`. `onWait` hears of each wait.
 */
export async function settledEnd(log: Log, { topic, partition }: TopicPartition, onWait?: OnUnsettled): Promise<bigint> {
  const started = performance.now()
  for (let attempt = 1; ; attempt++) {
    // The high watermark first: once the stable offset reaches it, every record below it is settled.
    const high = (await log.admin.highWatermarks(topic))[partition]
    const stable = (await log.admin.endOffsets(topic))[partition]
    if (stable >= high) return stable
    if (performance.now() - started >= settling.maxMs) {
      throw new LogError(`${topic}:${partition} kept a transaction open for ${settling.maxMs} ms (stable up to ${stable}, written up to ${high})`, { retryable: true })
    }
    onWait?.({ stable, high })
    await sleep(backoffDelay(settling.backoff, attempt))
  }
}

/** Reads that may come back empty before `until` is reached (a broker just restarted), each a long poll. */
const stalledReads = { attempts: 20, waitMs: 500 }

/**
 * Reads one partition's committed records with offsets in [from, until), in offset order (how a
 * projector fills a gap between its database's offset and the group's). Resolves with `until` once
 * every record below it was handed over; rejects, retryably, when the partition stops answering before.
 */
export async function readRange(
  log: Log,
  { topic, partition }: TopicPartition,
  from: bigint,
  until: bigint,
  onRecords: (records: ConsumedRecord[]) => unknown,
): Promise<bigint> {
  let offset = from
  let stalled = 0
  while (offset < until) {
    // Every offset below `until` is stable, so a read that makes no progress is a broker not yet
    // serving (restarted, leader moving): ask again, then fail. Stopping short would hand a
    // restoring actor state with changes missing.
    const [result] = await log.read([{ topic, partition, offset }], stalled > 0 ? { maxWaitMs: stalledReads.waitMs } : {})
    const records = result.records.filter((r) => r.offset < until)
    if (records.length > 0) await onRecords(records)
    if (result.next > offset) {
      offset = result.next
      stalled = 0
    } else if (++stalled >= stalledReads.attempts) {
      throw new LogError(`reading ${topic}:${partition} stopped at offset ${offset}, before its end ${until}`, { retryable: true })
    }
  }
  // Records at or after `until` were read but not handed over: the next read starts at `until`.
  return from > until ? from : until
}

/** Every committed record of a topic, all partitions, up to their ends when the call began. */
export async function readTopic(log: Log, topic: string): Promise<ConsumedRecord[]> {
  const ends = await log.admin.endOffsets(topic)
  const all: ConsumedRecord[] = []
  for (let partition = 0; partition < ends.length; partition++) {
    await readToEnd(log, { topic, partition }, 0n, (records) => all.push(...records))
  }
  return all
}
