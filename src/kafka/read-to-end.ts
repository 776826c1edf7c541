import type { Log } from './port.ts'
import type { ConsumedRecord, TopicPartition } from './types.ts'

/**
 * Reads one partition from `from` up to its last stable offset as it was when the call began,
 * handing records to `onRecords` in offset order. Resolves with the offset reached (the end).
 * This is how actors restore state from a changelog before they process anything.
 */
export async function readToEnd(
  log: Log,
  tp: TopicPartition,
  from: bigint,
  onRecords: (records: ConsumedRecord[]) => unknown,
): Promise<bigint> {
  const end = (await log.admin.endOffsets(tp.topic))[tp.partition]
  const reached = await readRange(log, tp, from, end, onRecords)
  return reached > end ? reached : end
}

/**
 * Reads one partition's committed records with offsets in [from, until), in offset order (how a
 * projector fills a gap between its database's offset and the group's). Resolves with the offset reached.
 */
export async function readRange(
  log: Log,
  { topic, partition }: TopicPartition,
  from: bigint,
  until: bigint,
  onRecords: (records: ConsumedRecord[]) => unknown,
): Promise<bigint> {
  let offset = from
  while (offset < until) {
    const [result] = await log.read([{ topic, partition, offset }])
    const records = result.records.filter((r) => r.offset < until)
    if (records.length > 0) await onRecords(records)
    if (result.next === offset) break
    offset = result.next
  }
  return offset
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
