import { Admin, Consumer, type GroupPartitionsAssignments } from '@platformatic/kafka'
import { rangeAssign } from '../range-assignor.ts'
import type { Bytes } from './records.ts'

/**
 * platformatic's consumer reads committed offsets with require_stable=false, so right after a
 * rebalance a new owner could start below an offset the previous owner is committing in a
 * transaction, and process those records twice. This subclass answers the same call through
 * OffsetFetch with require_stable=true (the broker answers UNSTABLE_OFFSET_COMMIT, retried, until
 * pending transactional commits settle), as Kafka's Java consumer does under read_committed.
 */
export class StableOffsetsConsumer extends Consumer<string, Bytes, string, string> {
  stableAdmin!: Admin

  override listCommittedOffsets(
    options: { topics: Array<{ topic: string; partitions: number[] }> },
    callback?: (error: Error | null, offsets?: Map<string, bigint[]>) => void,
  ): any {
    const promise = this.stableAdmin
      .listConsumerGroupOffsets({
        groups: [{ groupId: this.groupId, topics: options.topics.map((t) => ({ name: t.topic, partitionIndexes: t.partitions })) }],
        requireStable: true,
      })
      .then((groups) => {
        const committed = new Map<string, bigint[]>()
        for (const topic of groups[0]?.topics ?? []) {
          const offsets: bigint[] = []
          for (const p of topic.partitions) offsets[p.partitionIndex] = p.committedOffset
          committed.set(topic.name, offsets)
        }
        return committed
      })
    if (!callback) return promise
    promise.then((offsets) => callback(null, offsets), (error) => callback(error))
  }
}

/** The platformatic partitionAssigner hook over shop's range assignment. */
export function rangePartitionAssigner(
  _current: string,
  members: Map<string, { topics?: string[] }>,
  topics: Set<string>,
  metadata: { topics: Map<string, { partitionsCount: number }> },
): GroupPartitionsAssignments[] {
  const counts = new Map([...topics].map((t) => [t, metadata.topics.get(t)?.partitionsCount ?? 0]))
  const plan = rangeAssign(
    [...members].map(([id, m]) => ({ id, topics: m.topics ?? [...topics] })),
    counts,
  )
  return [...plan].map(([memberId, tps]) => {
    const assignments = new Map<string, { topic: string; partitions: number[] }>()
    for (const { topic, partition } of tps) {
      if (!assignments.has(topic)) assignments.set(topic, { topic, partitions: [] })
      assignments.get(topic)!.partitions.push(partition)
    }
    return { memberId, assignments }
  })
}
