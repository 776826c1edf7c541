import type {
  ConsumedRecord,
  ReadResult,
  ProduceRecord,
  RecordPosition,
  TopicDescription,
  TopicPartition,
  TopicSpec,
} from './types.ts'

/**
 * The log port: everything actors need from Kafka. Adapters: `kafka` (real brokers, platformatic/)
 * and `memory` (in-process, memory/). Both keep every contract below; `runLogContract`
 * (log-contract.case.test.ts) proves it.
 * Every call that waits on a broker settles within the adapter's deadline or rejects with TimeoutError.
 */
export interface Log {
  readonly kind: 'memory' | 'kafka'
  readonly admin: LogAdmin
  /** An idempotent producer, acks=all. */
  producer(options?: { clientId?: string }): LogProducer
  /**
   * A transactional producer. At most one live instance per `transactionalId`: `init()` of a new
   * instance fences the old one and settles (commits or aborts) the transaction it left open.
   */
  transactionalProducer(options: { transactionalId: string }): TransactionalProducer
  /** A consumer group member reading `read_committed`. Nothing is read until `start()`. */
  consumer(options: ConsumerOptions): GroupConsumer
  /**
   * Reads partitions without a consumer group, read_committed (what state restores and views use).
   * For each position: the committed records from its offset on (as many as one fetch brings) and
   * `next`, the offset to read from next. A partition at its end gives no records and `next` unchanged.
   * Records read this way have generation -1: they cannot be committed as a group's progress.
   * With `maxWaitMs`, a read that finds every partition at its end waits up to that long for a
   * record to arrive (a long poll, as views follow a topic) instead of answering at once.
   */
  read(from: RecordPosition[], options?: { maxWaitMs?: number }): Promise<ReadResult[]>
  /** Closes every client this log created. */
  close(): Promise<void>
}

export interface LogAdmin {
  /**
   * Creates the topics that are missing. Rejects with TopicMismatchError when a topic exists with
   * another partition count. Resolves once the topics accept records.
   */
  ensureTopics(specs: TopicSpec[]): Promise<void>
  /** Partition counts of existing topics; a missing topic is absent from the result. */
  describeTopics(names: string[]): Promise<TopicDescription[]>
  /** The end offset (next offset to be written, read_committed: the last stable offset) per partition. */
  endOffsets(topic: string): Promise<bigint[]>
  /**
   * `endOffsets` of several topics at once, by name (on Kafka one Metadata and one ListOffsets
   * request for them all, where a call per topic costs two requests each). Rejects naming any topic
   * that does not exist.
   */
  endOffsetsOf(topics: string[]): Promise<Map<string, bigint[]>>
  /**
   * The end offset per partition counting the records of transactions still open (the high
   * watermark). It equals `endOffsets` once no transaction is open on the partition (see settledEnd).
   */
  highWatermarks(topic: string): Promise<bigint[]>
  /**
   * A group's committed offsets (the next offset it will read), per partition it has committed;
   * read from outside the group, as monitoring does. Consumer lag is `endOffsets - committed`.
   * Offsets that a transaction is still committing are waited for, never read around. Once its
   * `commit()` has resolved, Kafka may still show the previous value for a few ms: wait for a value.
   */
  committedOffsets(groupId: string): Promise<RecordPosition[]>
  /** The names of every topic the cluster holds (internal ones apart), in no particular order. */
  listTopics(): Promise<string[]>
  /**
   * A broker setting's value, as one broker of the cluster reports it (a cluster's brokers share
   * their group and transaction settings in any sane deployment); undefined where there is no
   * broker (the memory log) or it does not report the setting.
   */
  brokerSetting(name: string): Promise<string | undefined>
  deleteTopics(names: string[]): Promise<void>
}

export interface LogProducer {
  /**
   * Appends records. Resolves after every record is acknowledged by all in-sync replicas, with
   * their positions in input order (records without key or partition too: they are spread
   * round-robin). Records of one call to one partition keep their order.
   */
  send(records: ProduceRecord[]): Promise<RecordPosition[]>
  close(): Promise<void>
}

export interface TransactionalProducer {
  readonly transactionalId: string
  /**
   * Registers this instance as the owner of its transactional id, fencing older instances. Whatever
   * transaction they, or this instance before a failure, left unfinished is settled when this
   * resolves: aborted, or committed if its commit had reached the coordinator. None of its records
   * can land later. Call it after a failed transaction, before reading what that transaction may
   * have written. Idempotent while no transaction fails.
   */
  init(): Promise<void>
  /** Starts a transaction; one at a time per producer. */
  begin(): Promise<Transaction>
  close(): Promise<void>
}

/**
 * Records and consumed offsets that become visible together on commit, or never. `send` and
 * `sendOffsets` may run side by side; `commit` or `abort` is called once both have settled.
 */
export interface Transaction {
  send(records: ProduceRecord[]): Promise<void>
  /**
   * Adds the consumer's progress: for each partition, the offset after the last of `records`
   * (records that `consumer` delivered). If the group has moved to a newer generation since they
   * were delivered, this call rejects with FencedError (and `commit()` too, should the group move
   * on after it), and nothing is committed. One transaction may carry the offsets of several
   * groups, added side by side.
   */
  sendOffsets(consumer: GroupConsumer, records: ConsumedRecord[]): Promise<void>
  /**
   * Makes everything visible atomically, and resolves with the positions of the records sent, in
   * the order sent. Rejects with FencedError when this producer is a zombie.
   * It resolves once the commit is decided, which is before every partition shows it: Kafka's
   * coordinator writes the commit markers after answering, so for a moment read_committed readers
   * (and `endOffsets`) still stop before these records. The next transaction of the same id, and
   * `init()`, wait for the markers. A writer that reads its own records back reads up to their
   * positions (`readToEnd`'s `atLeast`), not merely to the end offset.
   */
  commit(): Promise<RecordPosition[]>
  /**
   * Discards everything sent in this transaction. Best effort when the broker is failing: the next
   * `init()` settles the transaction either way.
   */
  abort(): Promise<void>
}

export interface ConsumerOptions {
  groupId: string
  topics: string[]
  /**
   * Partition assignment is range-style: with equal partition counts, partition p of every topic
   * goes to the same member (co-partitioned joins rely on this).
   */
  clientId?: string
}

export interface ConsumerListener {
  /**
   * The member now owns these partitions, at group generation `generation`. Records of them are
   * delivered only after this resolves. Called with every partition of a new generation.
   */
  onAssigned(partitions: TopicPartition[], generation: number): Promise<void> | void
  /** The member no longer owns these partitions. Awaited before their records go to another member's listener (memory) or before rejoining (kafka). */
  onRevoked(partitions: TopicPartition[]): Promise<void> | void
  /**
   * Records of one topic-partition in offset order, read_committed, starting from the group's
   * committed offset (or the earliest offset when none is committed). The next batch of that
   * partition is not delivered before the returned promise settles (backpressure). If it rejects,
   * the member calls `onError` with that error and delivers nothing more (the records are read
   * again, from the committed offset, by the member that replaces it).
   */
  onRecords(records: ConsumedRecord[]): Promise<void> | void
  /** The member failed and delivers nothing more; its owner should close it and start a new one. */
  onError?(error: Error): void
}

export interface GroupConsumer {
  readonly groupId: string
  /** Joins the group and begins delivery. Resolves once the member has joined. */
  start(listener: ConsumerListener): Promise<void>
  /** The partitions this member owns now. */
  assignment(): TopicPartition[]
  /**
   * The group's committed offsets, stable: a transactional commit still pending is waited for,
   * never hidden (Kafka's require_stable).
   */
  committed(partitions: TopicPartition[]): Promise<Map<string, bigint>>
  /**
   * At-least-once progress, outside any transaction: for each partition, commits the offset after
   * the last of `records`. Rejects with FencedError when they were delivered under an older
   * generation (the partition may have moved; committing would skip another member's records).
   */
  commit(records: ConsumedRecord[]): Promise<void>
  /** Leaves the group (its partitions move to other members at once) and closes the client. */
  close(): Promise<void>
}
