import type { TopicPartition } from './types.ts'

export interface AssignorMember {
  id: string
  topics: string[]
}

/**
 * Kafka's RangeAssignor: per topic, members sorted by id each take a contiguous range of partitions,
 * the first `partitions % members` one more. With equal partition counts, partition p of every
 * topic lands on the same member, which co-partitioned joins (orders + line results) require.
 * Round-robin and sticky assignors do not guarantee this.
 */
export function rangeAssign(
  members: AssignorMember[],
  partitionCounts: Map<string, number>,
): Map<string, TopicPartition[]> {
  const result = new Map<string, TopicPartition[]>(members.map((m) => [m.id, []]))
  for (const [topic, count] of partitionCounts) {
    const subscribers = members
      .filter((m) => m.topics.includes(topic))
      .map((m) => m.id)
      .sort()
    if (subscribers.length === 0) continue
    const per = Math.floor(count / subscribers.length)
    const extra = count % subscribers.length
    subscribers.forEach((id, i) => {
      const start = i * per + Math.min(i, extra)
      const length = per + (i < extra ? 1 : 0)
      for (let p = start; p < start + length; p++) result.get(id)!.push({ topic, partition: p })
    })
  }
  return result
}
