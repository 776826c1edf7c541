import { FencedError, ShopError } from '../../../errors.ts'
import type { Log } from '../../../kafka/port.ts'
import type { ConsumedRecord, ProduceRecord } from '../../../kafka/types.ts'
import type { Logger } from '../../../log.ts'
import { type StateCache, withCache } from '../../../state/cache.ts'
import { Changes, ChangelogStore } from '../../../state/changelog-store.ts'
import { backoffDelay, sleep } from '../../../time.ts'
import type { Behavior } from '../types.ts'
import { deadLetterRecord } from './dead-letter.ts'
import type { StepContext, StepHandler } from './types.ts'
import type { MemberTransactions } from './member-transactions.ts'
import type { Metrics } from '../../../observability/metrics.ts'
import { type Span, batchSpan, endSpan, recordSpan, sendSpans, sent, spanning, superseded, within } from '../../../observability/tracing.ts'

export interface TransactionalActorOptions {
  log: Log
  logger: Logger
  /** The consumer group. */
  group: string
  /** The topics the group reads (partition `partition` of each is this actor's). */
  topics: string[]
  /** The group's role (or `delivery`): the metrics' `group` label, the same whatever the topic prefix. */
  groupKind: string
  partition: number
  /** The transactions of the group member that delivered the records, which this actor's batches join. */
  transactions: MemberTransactions
  /** Batches waiting in the actor's mailbox (while one waits, the batch in hand is not waited for). */
  waiting: () => number
  handler: StepHandler
  deadLetterTopic: string
  /** The SQLite file of the state cache; none: the cache is kept in memory (the memory bus). */
  cachePath: string | undefined
  /** Attempts per record for errors that may pass on retry, before the record is dead-lettered. */
  maxRecordAttempts: number
  /** Attempts per batch transaction (reloading state in between) before the partition is given back. */
  maxCommitAttempts: number
  /** The batch could not be committed: the member must rejoin and read again from the committed offsets. */
  onLost: (error: Error) => void
  /**
   * After a fence, how long to wait for the revocation that normally follows before deciding the
   * fence came from a zombie and rejoining (so that a partition never stays with a retired actor).
   */
  fencedGraceMs: number
  /** How long a done state value (`Expiring`) is kept before the actor deletes it. */
  dedupWindowMs: number
  metrics: Metrics
}

/** What handling one record gave: its outputs (with their send spans, in order), and what runs once the batch committed. */
interface Handled {
  outputs: ProduceRecord[]
  sends: Span[]
  effects: Array<() => void>
}

/** A batch handled, its outputs and changes not yet handed to a transaction. */
interface Prepared extends Handled {
  records: ConsumedRecord[]
  changes: Changes
  swept: number
  waitedMs: number
  started: number
  handled: number
  /** The batch's `process` span: the commit's log line names it. */
  span: Span
}

/** A batch handed to the member's transactions; `settled` says how its transaction ended (a failure: its error). */
interface InFlight {
  records: ConsumedRecord[]
  changes: Changes
  settled: Promise<{ error: unknown } | undefined>
}

/** Deletions per store per transaction at most, so that a backlog of expired state never makes one huge transaction. */
const sweepLimit = 1_000

/** Waits between attempts of a batch whose commit failed: 100 ms, then doubling. */
const commitRetry = { minMs: 100, maxMs: 5_000, factor: 2 }

/**
 * The partition actor of a transactional role (order, inventory, notifier). Each message is a batch
 * of records of its partition; each batch commits in one Kafka transaction of its group member
 * (see MemberTransactions) with the outputs, the changelog records of the state changes, and the
 * input offsets. On start it restores its stores from their changelogs (the member has read the
 * group's offsets as stable first, and the restore waits for the changelog's open transactions, so
 * the previous owner's last transaction has settled and is read if it committed). Each
 * batch also deletes the state values done (`Expiring`) more than `dedupWindowMs` ago.
 */
export function transactionalActor(options: TransactionalActorOptions): Behavior<ConsumedRecord[]> {
  const { log, logger, handler, group, partition, metrics } = options
  const kind = options.groupKind
  const { transactions } = options
  let cache: StateCache | undefined
  let stores = new Map<string, ChangelogStore<unknown>>()
  /** Set once this actor must not commit anything more (fenced, or a batch was given up). */
  let retired = false
  let fencedTimer: Timer | undefined
  /** The last batch handed to the member's transactions while the next one was already waiting. */
  let inFlight: InFlight | undefined

  /** Reloads every store; returns the entries it holds (in memory, and in all) and how many changelog records it replayed. */
  async function restore(): Promise<{ entries: number; inMemory: number; replayed: number }> {
    const started = performance.now()
    const labels = { group: kind }
    let replayed = 0
    for (const store of stores.values()) {
      let waits = 0
      const restored = await store.restore(log, (ends) => {
        // Rare (a previous owner's transaction still settling): said once per restore.
        if (waits++ > 0) return
        metrics.restoreWaits.inc(labels)
        logger.info({ event: 'actor:store:unsettled', group, partition, store: store.name, topic: store.changelog.topic, stable: String(ends.stable), high: String(ends.high) })
      })
      logger.debug({ event: 'actor:store:restored', group, partition, store: store.name, ...restored })
      replayed += restored.replayed
    }
    if (stores.size > 0) {
      metrics.restoreDuration.observe(labels, (performance.now() - started) / 1000)
      metrics.restoredRecords.inc(labels, replayed)
    }
    return { ...measureState(), replayed }
  }

  const stateLabels = (where: 'memory' | 'cache') => ({ group: kind, partition: String(partition), where })

  /** The stores' entries, in all and in memory (the others are in the state cache alone), also set as shop_state_entries. */
  function measureState(): { entries: number; inMemory: number } {
    let entries = 0
    let inMemory = 0
    for (const store of stores.values()) {
      entries += store.size
      inMemory += store.resident
    }
    if (stores.size > 0) {
      metrics.stateEntries.set(stateLabels('memory'), inMemory)
      metrics.stateEntries.set(stateLabels('cache'), entries - inMemory)
    }
    return { entries, inMemory }
  }

  const tables = new Set(handler.tables)

  /**
   * Handles one batch on `parent` (the changes of the batch in flight, until they reach the
   * stores) or on the stores; traced as a `process` span linking to every record's trace.
   */
  function prepare(records: ConsumedRecord[], parent?: Changes): Promise<Prepared> {
    return spanning(batchSpan(records, group), (span) => prepareIn(records, span, parent))
  }

  async function prepareIn(records: ConsumedRecord[], batch: Span, parent?: Changes): Promise<Prepared> {
    const started = performance.now()
    // How long the oldest record waited since its producer wrote it: the hop before, its commit, the fetch and the queue.
    const waitedMs = records.length === 0 ? 0 : Date.now() - Math.min(...records.map((r) => r.timestamp))
    const changes = parent ? parent.fork() : new Changes(stores)
    let outputs: ProduceRecord[] = []
    let sends: Span[] = []
    const effects: Array<() => void> = []
    const take = (one: Handled) => {
      outputs.push(...one.outputs)
      sends.push(...one.sends)
      effects.push(...one.effects)
    }
    const scratch = new Map<string, unknown>()
    if (records.length === 0) take(idle(changes, scratch))
    else {
      if (handler.concurrent) (await Promise.all(records.map((record) => handleOne(record, changes, batch, scratch)))).forEach(take)
      else for (const record of records) take(await handleOne(record, changes, batch, scratch))
      if (handler.endBatch) take(stepWithoutRecord(changes, scratch, (ctx) => handler.endBatch!(ctx), 'the end of a batch'))
    }
    if (tables.size > 0) ({ outputs, sends } = latestPerKey(outputs, sends, tables))
    const swept = changes.sweep(Date.now() - options.dedupWindowMs, sweepLimit)
    outputs.push(...changes.records())
    return { records, changes, outputs, sends, effects, swept, waitedMs, started, handled: performance.now(), span: batch }
  }

  /**
   * Hands a handled batch to the member's next transaction. Once it commits, the changes reach the
   * stores and the effects run (even if the actor has stopped meanwhile: the batch did commit).
   */
  function submit(batch: Prepared): InFlight {
    const { records, changes, outputs, sends } = batch
    const settled = transactions.commit(outputs, records).then(
      (positions) => {
        // Only at debug level: the line, and the span context it is logged in, cost on every batch.
        if (logger.isLevelEnabled('debug')) {
          const ms = (from: number, to: number) => Math.round((to - from) * 10) / 10
          within(batch.span, () =>
            logger.debug({ event: 'actor:batch:committed', group, partition, records: records.length, outputs: outputs.length, swept: batch.swept, waitedMs: batch.waitedMs, handleMs: ms(batch.started, batch.handled), committedMs: ms(batch.handled, performance.now()) }),
          )
        }
        // The batch's outputs, in order: their positions, in order.
        sent(sends, positions)
        changes.commit(positions)
        measureState()
        counted(records, outputs)
        for (const effect of batch.effects) effect()
        return undefined
      },
      (error: unknown) => {
        sent(sends, undefined, error)
        return { error }
      },
    )
    return { records, changes, settled }
  }

  /** One batch in one transaction, waited for (a retry: nothing is in flight). */
  async function step(records: ConsumedRecord[]): Promise<void> {
    const failure = await submit(await prepare(records)).settled
    if (failure) throw failure.error
  }

  /** Waits for the batch in flight; if its transaction failed, its records are processed again (see recover). */
  async function settle(): Promise<void> {
    const flight = inFlight
    if (!flight) return
    inFlight = undefined
    const failure = await flight.settled
    if (failure) await recover(flight.records, failure.error)
  }

  /**
   * After a failed transaction: while a retry may cure it, waits, settles the member's producer (the
   * transaction may yet have committed), reloads the state, and processes again what did not commit.
   * Never skips past an uncommitted batch: later offsets would commit over it.
   */
  async function recover(batch: ConsumedRecord[], failure: unknown): Promise<void> {
    let records = batch
    let error = failure
    for (let attempt = 1; ; attempt++) {
      if (error instanceof FencedError) {
        // A newer owner of this partition exists; the rebalance that moved it stops this actor
        // (and clears the timer). If none comes, a zombie fenced us: rejoin to take it back.
        retired = true
        logger.warn({ event: 'actor:fenced', group, partition, err: error })
        fencedTimer = setTimeout(() => options.onLost(error as Error), options.fencedGraceMs)
        return
      }
      logger.warn({ event: 'actor:commit:retry', group, partition, attempt, err: error })
      // Only what a retry may cure is retried here; anything else gives the partition back at once.
      if (attempt >= options.maxCommitAttempts || !(error instanceof ShopError && error.retryable)) {
        retired = true
        options.onLost(error as Error)
        return
      }
      await sleep(backoffDelay(commitRetry, attempt))
      try {
        await transactions.init()
        await restore()
        if (records.length > 0) {
          records = await notCommitted(records)
          if (records.length === 0) return
        }
        await step(records)
        return
      } catch (caught) {
        error = caught
      }
    }
  }

  /** The metrics of a committed batch (the transaction's own are MemberTransactions'). */
  function counted(records: ConsumedRecord[], outputs: ProduceRecord[]): void {
    const labels = { group: kind }
    metrics.records.inc(labels, records.length)
    metrics.batchRecords.observe(labels, records.length)
    for (const output of outputs) {
      if (output.topic === options.deadLetterTopic) metrics.deadLetters.inc({ ...labels, origin_topic: output.headers?.['shop.dlq.topic'] ?? 'unknown' })
    }
  }

  /** The records of `batch` at or after the group's committed offset of their partition. */
  async function notCommitted(batch: ConsumedRecord[]): Promise<ConsumedRecord[]> {
    const committed = await log.admin.committedOffsets(group)
    const next = (record: ConsumedRecord) => committed.find((c) => c.topic === record.topic && c.partition === record.partition)?.offset ?? 0n
    return batch.filter((record) => record.offset >= next(record))
  }

  /**
   * Whether no committed record of the actor's partitions lies past the group's offsets. A read
   * rather than a comparison with the end offsets: a transaction's commit marker sits past its last
   * record, so a partition read to its end still has its committed offset one short of the end.
   */
  async function caughtUp(): Promise<boolean> {
    try {
      const committed = await log.admin.committedOffsets(group)
      const next = (topic: string) => committed.find((c) => c.topic === topic && c.partition === partition)?.offset ?? 0n
      const read = await log.read(options.topics.map((topic) => ({ topic, partition, offset: next(topic) })))
      return read.every((r) => r.records.length === 0)
    } catch (error) {
      logger.debug({ event: 'actor:idle:unknown', group, partition, err: error })
      return false
    }
  }

  /**
   * One record's outputs and after-commit effects; its state changes are merged into `changes`
   * only if it succeeds. Traced as the record's own `process` span, in its order's trace; the
   * outputs' send spans are its children.
   */
  async function handleOne(record: ConsumedRecord, changes: Changes, batch: Span, scratch: Map<string, unknown>): Promise<Handled> {
    const span = recordSpan(record, group, batch)
    return within(span, async () => {
      const { failure, ...one } = await attempts(record, changes, scratch)
      const sends = sendSpans(one.outputs)
      endSpan(span, failure)
      return { ...one, sends }
    })
  }

  /** A step's context over `fork` and the batch's `scratch`, gathering its outputs and effects. */
  function context(fork: Changes, scratch: Map<string, unknown>, deadLetter: (error: unknown) => ProduceRecord) {
    const outputs: ProduceRecord[] = []
    const effects: Array<() => void> = []
    const ctx: StepContext = {
      partition,
      send: (r) => outputs.push(r),
      get: (store, key) => fork.get(store, key),
      put: (store, key, value) => fork.put(store, key, value),
      deadLetter: (error) => outputs.push(deadLetter(error)),
      afterCommit: (effect) => effects.push(effect),
      batch: scratch,
    }
    return { ctx, outputs, effects }
  }

  /** The handler's idle step (an empty batch: the partition has been quiet for `idle.afterMs`). */
  function idle(changes: Changes, scratch: Map<string, unknown>): Handled {
    return stepWithoutRecord(changes, scratch, (ctx) => handler.idle?.handle(ctx), 'an idle step')
  }

  /** A step of the handler's without a record (`what` it is); its outputs have no send spans. */
  function stepWithoutRecord(changes: Changes, scratch: Map<string, unknown>, run: (ctx: StepContext) => void, what: string): Handled {
    const fork = changes.fork()
    const { ctx, outputs, effects } = context(fork, scratch, () => {
      throw new Error(`${what} has no record to dead-letter`)
    })
    run(ctx)
    fork.merge()
    return { outputs, sends: [], effects }
  }

  /** Handles `record` until it succeeds or is dead-lettered (`failure` then says why). */
  async function attempts(record: ConsumedRecord, changes: Changes, scratch: Map<string, unknown>): Promise<Omit<Handled, 'sends'> & { failure?: unknown }> {
    for (let attempt = 1; ; attempt++) {
      const fork = changes.fork()
      const { ctx, outputs, effects } = context(fork, scratch, (error) => deadLetterRecord(options.deadLetterTopic, group, record, error, attempt))
      try {
        await handler.handle(record, ctx)
        fork.merge()
        return { outputs, effects }
      } catch (error) {
        const final = (error instanceof ShopError && !error.retryable) || attempt >= options.maxRecordAttempts
        logger.warn({ event: final ? 'actor:record:dead-letter' : 'actor:record:retry', group, partition, topic: record.topic, offset: String(record.offset), attempt, err: error })
        if (final) return { outputs: [deadLetterRecord(options.deadLetterTopic, group, record, error, attempt)], effects: [], failure: error }
      }
    }
  }

  return {
    async preStart() {
      const started = performance.now()
      // A transaction of this member left open on the partition (a commit whose outcome the broker
      // did not tell) is settled now, not at the broker's transaction timeout: restore waits for it.
      if (Object.keys(handler.stores).length > 0) await transactions.init()
      const opened = await withCache(options.cachePath, logger, async (opened) => {
        stores = new Map(Object.entries(handler.stores).map(([name, topic]) => [name, new ChangelogStore(opened, name, { topic, partition })]))
        return restore()
      })
      cache = opened.cache
      // What a start costs: bounded by the live state (see Changes.sweep), not by history.
      if (stores.size > 0) logger.info({ event: 'actor:restored', group, partition, ms: Math.round(performance.now() - started), ...opened.result })
    },

    async receive(batch) {
      if (retired) return
      // An empty batch is the pool's cue that the partition is quiet; idle is only what has
      // nothing left to read (an actor just assigned may not have been fetched for yet).
      if (batch.length === 0 && !(handler.idle && (await caughtUp()))) return settle()
      // Handled while the batch before commits, on its changes; handed over once it committed.
      const previous = inFlight
      inFlight = undefined
      let prepared: Prepared
      try {
        prepared = await prepare(batch, previous?.changes)
      } catch (error) {
        // Not a record's error (those are retried, then dead-lettered): a fault of the handler's
        // batch steps or of this layer. The batch must not be skipped, as a restart of this actor
        // would (the records after it would commit over it): once the batch before has settled,
        // the partition is given back, and its next owner reads again from the committed offsets.
        await previous?.settled
        retired = true
        logger.error({ event: 'actor:batch:failed', group, partition, records: batch.length, err: error })
        options.onLost(error instanceof Error ? error : new Error(String(error)))
        return
      }
      const failure = previous && (await previous.settled)
      if (failure) return recover([...previous!.records, ...batch], failure.error)
      inFlight = submit(prepared)
      // A batch waiting in the mailbox learns how this one ended; with none, this one is waited
      // for here, so that a failure is always retried.
      if (options.waiting() === 0) await settle()
    },

    async postStop() {
      clearTimeout(fencedTimer)
      // A batch in flight commits or not; the stores take its changes if it does.
      await inFlight?.settled
      try {
        for (const store of stores?.values() ?? []) store.flush()
      } finally {
        if (stores.size > 0) for (const where of ['memory', 'cache'] as const) metrics.stateEntries.remove(stateLabels(where))
        // Always: the file stays locked to this connection until it closes, and the actor's next start opens it again.
        cache?.close()
      }
    },
  }
}

/**
 * Of `outputs` to a topic of `tables`, the last record of each key (the order of what stays
 * unchanged), with their send spans: `sends` holds the outputs' spans, index for index (an idle
 * step's outputs have none). The spans of the records dropped end as superseded.
 */
export function latestPerKey(outputs: ProduceRecord[], sends: Span[], tables: Set<string>): { outputs: ProduceRecord[]; sends: Span[] } {
  const later = new Set<string>()
  const dropped = new Set<number>()
  for (let i = outputs.length - 1; i >= 0; i--) {
    const { topic, key } = outputs[i]
    if (key === undefined || !tables.has(topic)) continue
    const id = `${topic}\u0000${key}`
    if (later.has(id)) dropped.add(i)
    else later.add(id)
  }
  if (dropped.size === 0) return { outputs, sends }
  superseded([...dropped].filter((i) => i < sends.length).map((i) => sends[i]))
  const keep = (_: unknown, i: number) => !dropped.has(i)
  return { outputs: outputs.filter(keep), sends: sends.filter(keep) }
}
