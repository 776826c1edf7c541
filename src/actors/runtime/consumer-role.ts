import { PartitionPool } from './partition-pool.ts'
import type { Behavior } from './types.ts'
import type { GroupConsumer } from '../../kafka/port.ts'
import type { ConsumedRecord } from '../../kafka/types.ts'
import { type GroupName, groupName } from '../../topology.ts'
import type { Readiness } from '../../api/health/readiness.ts'
import type { Role, RoleContext } from './role.ts'

export interface ConsumerRoleOptions<Shared extends Closable = Closable> {
  name: GroupName
  topics: string[]
  /**
   * What the partition actors of one member share (the transactional roles' producer): made when
   * the member joins, before it reads anything, and closed once its actors have stopped.
   */
  share?: (member: Member) => Promise<Shared>
  /** The actor owning one partition (of every topic above) for one group generation. */
  partitionActor: (slot: PartitionSlot<Shared>) => Behavior<ConsumedRecord[]>
  /** See PartitionPoolOptions.idleAfterMs. */
  idleAfterMs?: number
}

/** What a partition actor may ask of the group member that feeds it. */
export interface Member {
  /** The consumer that delivered the actor's records (their offsets join transactions). */
  consumer(): GroupConsumer
  /** The member must leave and rejoin: its partitions are read again from the committed offsets. */
  fail(error: Error): void
}

/** Where a partition actor runs: its partition and generation, its member, and what it shares with the member's other actors. */
export interface PartitionSlot<Shared> {
  partition: number
  generation: number
  member: Member
  shared: Shared
  /** Batches waiting in the actor's mailbox. */
  waiting: () => number
}

export interface Closable {
  close(): Promise<void>
}

type MemberMessage = { failed: Error }

/**
 * A role that consumes topics as one consumer-group member with an actor per partition.
 * The member itself is an actor under the role's supervisor: when its consumer fails, the
 * member restarts with backoff (a new consumer, a rejoin), and repeated failures escalate.
 */
export class ConsumerRole<Shared extends Closable = Closable> implements Role {
  readonly name: GroupName
  #consumer: GroupConsumer | undefined
  #pool: PartitionPool | undefined
  #shared: Shared | undefined
  #joined = false
  #onJoined: () => void = () => {}
  #stopping = false
  readonly #supervisor

  constructor(
    private readonly ctx: RoleContext,
    private readonly options: ConsumerRoleOptions<Shared>,
  ) {
    this.name = options.name
    this.#supervisor = ctx.supervisor.child(options.name)
    // Exported at 0 from the start: the partition actors (`order`) and the group member (`order-member`).
    for (const actor of [this.name, `${this.name}-member`]) ctx.metrics.actorRestarts.inc({ actor }, 0)
  }

  /** Resolves once the member first joined its group, or once it failed or stopped trying. */
  async start(): Promise<void> {
    const joined = Promise.withResolvers<void>()
    this.#onJoined = joined.resolve
    const member = this.#supervisor.spawn<MemberMessage>(`${this.name}-member`, () => ({
      preStart: () => this.#join((error) => member.tell({ failed: error })),
      receive: ({ failed }) => {
        throw failed
      },
      postStop: () => this.#leave(),
    }))
    await Promise.race([joined.promise, member.done])
  }

  async #join(onError: (error: Error) => void): Promise<void> {
    // The first failure of this consumer restarts the member; later ones (other actors seeing
    // the same trouble) would only restart it again.
    let failed = false
    const fail = (error: Error) => {
      if (failed) return
      failed = true
      onError(error)
    }
    const member: Member = { consumer: () => consumer, fail }
    const shared = (this.#shared = await this.options.share?.(member)) as Shared
    const pool = new PartitionPool({
      name: this.name,
      supervisor: this.#supervisor,
      create: (partition, generation, waiting) => this.options.partitionActor({ partition, generation, member, shared, waiting }),
      onConsumerError: fail,
      maxBatchRecords: this.ctx.config.batchMaxRecords,
      batchLingerMs: this.ctx.config.batchLingerMs,
      idleAfterMs: this.options.idleAfterMs,
    })
    const consumer = this.ctx.log.consumer({
      groupId: groupName(this.ctx.config.topicPrefix, this.name),
      topics: this.options.topics,
      clientId: `shop-${this.name}`,
    })
    this.#pool = pool
    this.#consumer = consumer
    await consumer.start(pool)
    this.#joined = true
    this.#onJoined()
  }

  async #leave(): Promise<void> {
    this.#joined = false
    const consumer = this.#consumer
    this.#consumer = undefined
    await consumer?.close().catch((error) => this.ctx.logger.warn({ event: 'role:consumer:close-failed', role: this.name, err: error }))
    await this.#pool?.stop()
    const shared = this.#shared
    this.#shared = undefined
    await shared?.close().catch((error) => this.ctx.logger.warn({ event: 'role:member:close-failed', role: this.name, err: error }))
  }

  readiness(): Readiness {
    if (this.#stopping) return { ready: false, reason: `${this.name}: stopping` }
    const failing = this.#supervisor.statuses().find((s) => s.status !== 'running')
    if (failing) return { ready: false, reason: `${this.name}: actor ${failing.actor} is ${failing.status}` }
    if (!this.#joined) return { ready: false, reason: `${this.name}: not a member of its consumer group yet` }
    return { ready: true }
  }

  /** Partition numbers this process owns for the role. */
  partitions(): number[] {
    return this.#pool?.partitions() ?? []
  }

  async stop(): Promise<void> {
    this.#stopping = true
    await this.#supervisor.stop('now')
  }
}
