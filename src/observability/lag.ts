import type { Config, RoleName } from '../config/options.ts'
import type { Log } from '../kafka/port.ts'
import { tpKey } from '../kafka/types.ts'
import { type Logger, throttledWarning } from '../log.ts'
import { sleep } from '../time.ts'
import { type GroupName, groupName, topicNames, topology } from '../topology.ts'
import type { Metrics } from './metrics.ts'

export interface LaggingGroup {
  group: string
  topics: string[]
}

/**
 * The consumer groups a process reports the lag of. A process running the api reports every group
 * of the deployment, as kafka_exporter would: the lag of a role must stay visible when every
 * process running it is down (that is when it matters). Other processes report their own roles'.
 * Several processes may report one group; dashboards and alerts take the `max` per partition.
 */
export function lagGroups(config: Pick<Config, 'roles' | 'topicPrefix'>): LaggingGroup[] {
  const groups = topology(topicNames(config.topicPrefix))
  const names = (Object.keys(groups) as GroupName[]).filter((name) => {
    if (name === 'api' || name === 'registry') return false
    if (config.roles.includes('api')) return true
    return config.roles.includes(name as never) || secondGroups[name] !== undefined && config.roles.includes(secondGroups[name])
  })
  return names.map((name) => ({ group: groupName(config.topicPrefix, name), topics: groups[name].reads }))
}

/** The groups a role runs beside its own. */
const secondGroups: Partial<Record<GroupName, RoleName>> = { delivery: 'notifier', 'aggregator-windows': 'aggregator' }

/** Where a consumer group stands on one partition: its committed offset (none before its first commit) and the end. */
export interface PartitionLag {
  topic: string
  partition: number
  /** The last stable offset (read_committed end). */
  end: bigint
  committed: bigint | undefined
}

/** Every partition of `topics` with the group's committed offset and the partition's end. */
export async function partitionLag(log: Log, group: string, topics: string[]): Promise<PartitionLag[]> {
  const [lag] = await groupsLag(log, [{ group, topics }])
  return lag!.partitions
}

/**
 * `partitionLag` of several groups, their topics' ends read once for all: one Metadata and one
 * ListOffsets request on Kafka, where a read per topic cost two each (the api reports ~12 groups
 * over ~30 topics). Each group's committed offsets are read before the ends, so an end is never
 * older than the offset it is compared with.
 */
export async function groupsLag(log: Log, groups: LaggingGroup[]): Promise<Array<{ group: string; partitions: PartitionLag[] }>> {
  const committed = await Promise.all(groups.map(({ group }) => log.admin.committedOffsets(group)))
  const ends = await log.admin.endOffsetsOf(groups.flatMap(({ topics }) => topics))
  return groups.map(({ group, topics }, i) => {
    const offsets = new Map(committed[i]!.map((p) => [tpKey(p.topic, p.partition), p.offset]))
    const partitions = topics.flatMap((topic) => ends.get(topic)!.map((end, partition) => ({ topic, partition, end, committed: offsets.get(tpKey(topic, partition)) })))
    return { group, partitions }
  })
}

export interface LagExporterOptions {
  log: Log
  metrics: Metrics
  groups: LaggingGroup[]
  logger: Logger
  everyMs: number
}

/** A failed sample is logged at most this often (the broker away fails every sample). */
const warnEveryMs = 60_000

/**
 * Samples consumer lag into `kafka_consumergroup_lag` and `kafka_consumergroup_current_offset`
 * every `everyMs`: for each partition a group has committed on, the last stable offset (what a
 * read_committed consumer can reach) minus the committed offset. Transaction markers take offsets,
 * so a caught-up partition written by transactions reads 1 (the marker after its last record).
 */
export class LagExporter {
  #stopped = Promise.withResolvers<void>()
  #running: Promise<void> | undefined
  #stopping = false
  readonly #warn

  constructor(private readonly options: LagExporterOptions) {
    this.#warn = throttledWarning(options.logger, warnEveryMs)
  }

  start(): void {
    if (this.options.groups.length === 0) return
    this.#running = (async () => {
      while (!this.#stopping) {
        await this.sample().catch((error) => this.#failed(error))
        await Promise.race([sleep(this.options.everyMs), this.#stopped.promise])
      }
    })()
  }

  /** One sample of every group; rejects when the broker cannot be asked. */
  async sample(): Promise<void> {
    const { log, metrics } = this.options
    for (const { group, partitions } of await groupsLag(log, this.options.groups)) {
      for (const { topic, partition, end, committed } of partitions) {
        if (committed === undefined) continue
        const labels = { consumergroup: group, topic, partition: String(partition) }
        metrics.consumerOffset.set(labels, Number(committed))
        metrics.consumerLag.set(labels, Math.max(0, Number(end - committed)))
      }
    }
  }

  #failed(error: unknown): void {
    this.options.metrics.lagSampleErrors.inc()
    this.#warn({ event: 'metrics:lag:failed', err: error }, 'consumer lag could not be sampled; the lag gauges keep their last values')
  }

  async stop(): Promise<void> {
    this.#stopping = true
    this.#stopped.resolve()
    await this.#running
  }
}
