import { TopicMismatchError } from '../../errors.ts'
import type { LogAdmin } from '../port.ts'
import { type RecordPosition, type TopicDescription, type TopicSpec, tpKey } from '../types.ts'
import type { MemoryCluster } from './cluster.ts'

export class MemoryAdmin implements LogAdmin {
  constructor(private readonly cluster: MemoryCluster) {}

  async ensureTopics(specs: TopicSpec[]): Promise<void> {
    for (const spec of specs) {
      const existing = this.cluster.topics.get(spec.name)
      if (existing && existing.length !== spec.partitions) {
        throw new TopicMismatchError(`topic ${spec.name} has ${existing.length} partitions, expected ${spec.partitions}`)
      }
    }
    for (const spec of specs) {
      this.cluster.create(spec)
    }
  }

  async describeTopics(names: string[]): Promise<TopicDescription[]> {
    return names.filter((name) => this.cluster.topics.has(name)).map((name) => ({ name, partitions: this.cluster.topic(name).length }))
  }

  async endOffsets(topic: string): Promise<bigint[]> {
    return this.#ends(topic)
  }

  async endOffsetsOf(topics: string[]): Promise<Map<string, bigint[]>> {
    return new Map(topics.map((topic) => [topic, this.#ends(topic)]))
  }

  #ends(topic: string): bigint[] {
    return this.cluster.topic(topic).map((log) => BigInt(log.end))
  }

  async highWatermarks(topic: string): Promise<bigint[]> {
    return this.cluster.topic(topic).map((log, partition) => BigInt(log.end + (this.cluster.unsettled.get(tpKey(topic, partition)) ?? 0)))
  }

  async committedOffsets(groupId: string): Promise<RecordPosition[]> {
    const committed = this.cluster.groups.get(groupId)?.committed ?? new Map<string, bigint>()
    return [...committed].map(([key, offset]) => {
      const at = key.lastIndexOf(':')
      return { topic: key.slice(0, at), partition: Number(key.slice(at + 1)), offset }
    })
  }

  async listTopics(): Promise<string[]> {
    return [...this.cluster.topics.keys()]
  }

  /** The memory log has no broker, so no broker settings. */
  async brokerSetting(): Promise<string | undefined> {
    return undefined
  }

  async deleteTopics(names: string[]): Promise<void> {
    for (const name of names) this.cluster.topics.delete(name)
  }
}
