import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { type GroupName, groupName, topology } from '../../../topology.ts'
import { ConsumerRole } from '../consumer-role.ts'
import type { Role, RoleContext } from '../role.ts'
import { transactionalActor } from './transactional-actor.ts'
import type { StepHandler } from './types.ts'

/**
 * A role whose partition actors process each batch as one Kafka transaction (see
 * transactional-actor.ts), reading the role's topics as declared in the topology.
 */
export function transactionalRole(ctx: RoleContext, name: Exclude<GroupName, 'api'>, handler: StepHandler): Role {
  const group = groupName(ctx.config.topicPrefix, name)
  const reads = topology(ctx.topics)[name].reads
  ctx.metrics.initGroup(name, reads)
  return new ConsumerRole(ctx, {
    name,
    topics: reads,
    idleAfterMs: handler.idle?.afterMs,
    partitionActor: (partition, _generation, member) =>
      transactionalActor({
        log: ctx.log,
        logger: ctx.logger,
        group,
        topics: reads,
        groupKind: name,
        partition,
        consumer: member.consumer,
        handler,
        deadLetterTopic: ctx.topics.deadLetter,
        dbPath: stateFile(ctx, `${group}-p${partition}`),
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
 * Where a partition's state cache lives. On the memory bus the log dies with the process, so the
 * cache does too (a file would outlive the changelog it caches).
 */
function stateFile(ctx: RoleContext, name: string): string {
  if (ctx.log.kind === 'memory') return ':memory:'
  mkdirSync(ctx.config.dataDir, { recursive: true })
  return join(ctx.config.dataDir, `${name}.sqlite`)
}
