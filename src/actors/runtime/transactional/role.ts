import { randomUUID } from 'node:crypto'
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { type GroupName, groupName, topology } from '../../../topology.ts'
import { ConsumerRole } from '../consumer-role.ts'
import type { Role, RoleContext } from '../role.ts'
import { MemberTransactions } from './member-transactions.ts'
import { transactionalActor } from './transactional-actor.ts'
import type { StepHandler } from './types.ts'

/**
 * A role whose partition actors process each batch as one Kafka transaction (see
 * transactional-actor.ts), reading the role's topics as declared in the topology. A member's
 * transactions start at least `commitIntervalMs` apart (see MemberTransactions).
 */
export function transactionalRole(ctx: RoleContext, name: Exclude<GroupName, 'api'>, handler: StepHandler, options: { commitIntervalMs?: number } = {}): Role {
  const group = groupName(ctx.config.topicPrefix, name)
  const reads = topology(ctx.topics)[name].reads
  ctx.metrics.initGroup(name, reads)
  const transactionalId = `${group}-${instanceId(ctx)}`
  return new ConsumerRole(ctx, {
    name,
    topics: reads,
    idleAfterMs: handler.idle?.afterMs,
    share: async (member) => {
      const transactions = new MemberTransactions({
        producer: ctx.log.transactionalProducer({ transactionalId }),
        consumer: member.consumer,
        maxRecords: ctx.config.transactionMaxRecords,
        intervalMs: options.commitIntervalMs,
        logger: ctx.logger,
        group,
        groupKind: name,
        metrics: ctx.metrics,
      })
      // Fences this process's previous member (or, on a kept --data-dir, its previous life) and
      // settles the transaction it left open, before the member reads anything. On failure (the
      // broker away) the member restarts with a new producer: this one is closed, not left behind.
      try {
        await transactions.init()
      } catch (error) {
        await transactions.close().catch(() => {})
        throw error
      }
      return transactions
    },
    partitionActor: ({ partition, member, shared: transactions, waiting }) =>
      transactionalActor({
        log: ctx.log,
        logger: ctx.logger,
        group,
        topics: reads,
        groupKind: name,
        partition,
        transactions,
        waiting,
        handler,
        deadLetterTopic: ctx.topics.deadLetter,
        cachePath: stateFile(ctx, `${group}-p${partition}`),
        maxRecordAttempts: ctx.config.maxRecordAttempts,
        maxCommitAttempts: 3,
        onLost: member.fail,
        fencedGraceMs: 2 * ctx.config.sessionTimeoutMs,
        dedupWindowMs: ctx.config.dedupWindowMs,
        metrics: ctx.metrics,
      }),
  })
}

/**
 * What names this process's transactional producers (`<group>-<instance>`): kept in `--data-dir`,
 * so that a process restarted on its directory fences its predecessor's producers at once and
 * settles their open transactions, rather than the partitions' new owners waiting out the
 * transaction timeout. A directory belongs to one process at a time (its caches do too). On the
 * memory bus, fresh per process.
 */
function instanceId(ctx: RoleContext): string {
  if (ctx.log.kind === 'memory') return randomUUID()
  mkdirSync(ctx.config.dataDir, { recursive: true })
  const file = join(ctx.config.dataDir, 'instance-id')
  try {
    return readFileSync(file, 'utf8').trim()
  } catch {
    const id = randomUUID()
    writeFileSync(file, `${id}\n`)
    return id
  }
}

/**
 * Where a partition's state cache lives. On the memory bus the log dies with the process, so the
 * cache does too (a file would outlive the changelog it caches): none, it is kept in memory.
 */
function stateFile(ctx: RoleContext, name: string): string | undefined {
  if (ctx.log.kind === 'memory') return undefined
  mkdirSync(ctx.config.dataDir, { recursive: true })
  return join(ctx.config.dataDir, `${name}.sqlite`)
}
