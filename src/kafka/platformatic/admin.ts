import { Admin, ConfigResourceTypes, type FetchIsolationLevelValue, FetchIsolationLevels } from '@platformatic/kafka'
import { LogError, TimeoutError, TopicMismatchError } from '../../errors.ts'
import type { LogAdmin } from '../port.ts'
import type { RecordPosition, TopicDescription, TopicSpec } from '../types.ts'
import { call, hasProtocolError } from './call.ts'
import type { ClientBase } from './options.ts'

export class KafkaAdmin implements LogAdmin {
  readonly #admin: Admin
  readonly #ms: number

  constructor(base: ClientBase) {
    this.#admin = new Admin(base)
    this.#ms = base.timeout
  }

  async ensureTopics(specs: TopicSpec[]): Promise<void> {
    const existing = await this.describeTopics(specs.map((s) => s.name))
    for (const topic of existing) {
      const wanted = specs.find((s) => s.name === topic.name)!.partitions
      if (topic.partitions !== wanted) {
        throw new TopicMismatchError(`topic ${topic.name} has ${topic.partitions} partitions, expected ${wanted}`)
      }
    }
    const missing = specs.filter((s) => !existing.some((e) => e.name === s.name))
    for (const spec of missing) {
      const create = this.#admin.createTopics({
        topics: [spec.name],
        partitions: spec.partitions,
        replicas: -1,
        configs: Object.entries(spec.config ?? {}).map(([name, value]) => ({ name, value })),
      })
      await call(`create topic ${spec.name}`, this.#ms, create).catch((error: Error) => {
        // Another process created it first: fine, as long as it matches (checked below).
        if (!hasProtocolError(error.cause, 'TOPIC_ALREADY_EXISTS')) throw error
      })
    }
    if (missing.length > 0) await this.ensureTopics(specs)
  }

  /**
   * One Metadata request for just `names`, not retried; only when it fails (a topic missing, or
   * still without a leader) are all the cluster's topics listed to learn which exist. Listing them
   * on every call made the broker build a response of every topic and partition it holds for each
   * lag sample and end-offset read: a third of the broker's CPU samples at 225 orders/s (`bun bench
   * latency`, a JFR profile of the broker; docs/performance.md, "Where a hop's time goes").
   */
  async describeTopics(names: string[]): Promise<TopicDescription[]> {
    if (names.length === 0) return []
    // A copy: platformatic 2.12.1 sorts the array it is given in place.
    const named = this.#admin.metadata({ topics: [...names], autocreateTopics: false, forceUpdate: true, retries: 0 })
    const found = await call('topic metadata', this.#ms, named).catch((error: unknown) => {
      if (error instanceof TimeoutError) throw error
      return undefined
    })
    if (found) return names.map((name) => ({ name, partitions: found.topics.get(name)!.partitionsCount }))
    const all = new Set(await call('list topics', this.#ms, this.#admin.listTopics()))
    const present = names.filter((n) => all.has(n))
    if (present.length === 0) return []
    const metadata = await call('topic metadata', this.#ms, this.#admin.metadata({ topics: present }))
    return present.map((name) => ({ name, partitions: metadata.topics.get(name)!.partitionsCount }))
  }

  async endOffsets(topic: string): Promise<bigint[]> {
    return (await this.#listEnds([topic], FetchIsolationLevels.READ_COMMITTED)).get(topic)!
  }

  endOffsetsOf(topics: string[]): Promise<Map<string, bigint[]>> {
    return this.#listEnds(topics, FetchIsolationLevels.READ_COMMITTED)
  }

  async highWatermarks(topic: string): Promise<bigint[]> {
    return (await this.#listEnds([topic], FetchIsolationLevels.READ_UNCOMMITTED)).get(topic)!
  }

  /** ListOffsets of every partition's end, as a reader at `isolationLevel` sees it: one Metadata and one ListOffsets request for all `topics`. */
  async #listEnds(topics: string[], isolationLevel: FetchIsolationLevelValue): Promise<Map<string, bigint[]>> {
    const names = [...new Set(topics)]
    if (names.length === 0) return new Map()
    const described = await this.describeTopics(names)
    const missing = names.filter((name) => !described.some((d) => d.name === name))
    if (missing.length > 0) throw new LogError(`unknown topic ${missing.join(', ')}`)
    const result = await call(
      `end offsets of ${names.length === 1 ? names[0] : `${names.length} topics`}`,
      this.#ms,
      this.#admin.listOffsets({
        topics: described.map(({ name, partitions }) => ({ name, partitions: Array.from({ length: partitions }, (_, p) => ({ partitionIndex: p, timestamp: -1n })) })),
        isolationLevel,
      }),
    )
    const ends = new Map(described.map(({ name, partitions }) => [name, new Array<bigint>(partitions).fill(0n)]))
    for (const topic of result) for (const p of topic.partitions) ends.get(topic.name)![p.partitionIndex] = p.offset
    return ends
  }

  async committedOffsets(groupId: string): Promise<RecordPosition[]> {
    const [group] = await call(`committed offsets of ${groupId}`, this.#ms, this.#admin.listConsumerGroupOffsets({ groups: [groupId], requireStable: true }))
    return (group?.topics ?? []).flatMap((topic) =>
      topic.partitions.filter((p) => p.committedOffset >= 0n).map((p) => ({ topic: topic.name, partition: p.partitionIndex, offset: p.committedOffset })),
    )
  }

  listTopics(): Promise<string[]> {
    return call('list topics', this.#ms, this.#admin.listTopics())
  }

  async brokerSetting(name: string): Promise<string | undefined> {
    const metadata = await call('cluster metadata', this.#ms, this.#admin.metadata({ topics: [] }))
    const [broker] = metadata.brokers.keys()
    if (broker === undefined) return undefined
    const resources = [{ resourceType: ConfigResourceTypes.BROKER, resourceName: String(broker), configurationKeys: [name] }]
    const [described] = await call(`broker setting ${name}`, this.#ms, this.#admin.describeConfigs({ resources }))
    return described?.configs.find((c) => c.name === name)?.value ?? undefined
  }

  async deleteTopics(names: string[]): Promise<void> {
    await call('delete topics', this.#ms, this.#admin.deleteTopics({ topics: names }))
  }

  close(): Promise<void> {
    return this.#admin.close()
  }
}
