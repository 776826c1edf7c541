import type { Log } from './port.ts'
import type { ConsumedRecord, TopicPartition } from './types.ts'

/**
 * Reads one partition from `from` up to its last stable offset as it was when the call began,
 * handing records to `onRecords` in offset order. Resolves with the offset reached (the end).
 * This is how actors restore state from a changelog before they process anything.
 */
export async function readToEnd(
  log: Log,
  { topic, partition }: TopicPartition,
  from: bigint,
  onRecords: (records: ConsumedRecord[]) => void,
): Promise<bigint> {
  const end = (await log.admin.endOffsets(topic))[partition]
  let offset = from
  while (offset < end) {
    const [result] = await log.read([{ topic, partition, offset }])
    if (result.records.length > 0) onRecords(result.records)
    if (result.next === offset) break
    offset = result.next
  }
  return offset > end ? offset : end
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
