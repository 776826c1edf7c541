import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { inventoryHandler } from '../actors/inventory/inventory-actor.ts'
import { consoleSink } from '../actors/notifier/sinks/console.ts'
import type { Sink } from '../actors/notifier/sinks/types.ts'
import { webhookSink } from '../actors/notifier/sinks/webhook.ts'
import { notifierHandler } from '../actors/notifier/notifier.ts'
import { orderHandler } from '../actors/order/order-actor.ts'
import { transactionalActor } from '../actors/transactional/transactional-actor.ts'
import type { StepHandler } from '../actors/transactional/types.ts'
import type { Config, RoleName } from '../config/options.ts'
import { groupName, roleInputs } from '../topics.ts'
import { apiRole } from './api-role.ts'
import { ConsumerRole } from './consumer-role.ts'
import type { Role, RoleContext } from './types.ts'

/**
 * The roles a process can run. The aggregator is still a placeholder: it joins its group on its
 * real topic with an actor per partition that reads records and only commits their offsets.
 */
export function createRole(name: RoleName, ctx: RoleContext): Role {
  const t = ctx.topics
  const inputs = roleInputs(t)
  const source = `shop/${name}`
  switch (name) {
    case 'api':
      return apiRole(ctx)
    case 'order':
      return transactionalRole(ctx, name, inputs.order, orderHandler(t, source))
    case 'inventory':
      return transactionalRole(ctx, name, inputs.inventory, inventoryHandler(t, source))
    case 'notifier':
      return transactionalRole(ctx, name, inputs.notifier, notifierHandler(t, sinks(ctx.config, ctx.write)))
    case 'aggregator':
      // Commits what it read (at-least-once), so that its group's lag stays a true figure.
      return new ConsumerRole(ctx, {
        name,
        topics: inputs.aggregator,
        partitionActor: (_partition, _generation, member) => ({
          receive: (records) => member.consumer().commit(records).catch((error) => member.fail(error)),
        }),
      })
  }
}

/** A role whose partition actors process each batch as one Kafka transaction (see transactional-actor.ts). */
function transactionalRole(ctx: RoleContext, name: RoleName, topics: string[], handler: StepHandler): Role {
  const group = groupName(ctx.config.topicPrefix, name)
  return new ConsumerRole(ctx, {
    name,
    topics,
    partitionActor: (partition, _generation, member) =>
      transactionalActor({
        log: ctx.log,
        logger: ctx.logger,
        group,
        partition,
        consumer: member.consumer,
        handler,
        deadLetterTopic: ctx.topics.deadLetter,
        dbPath: stateFile(ctx, `${group}-p${partition}`),
        maxRecordAttempts: ctx.config.maxRecordAttempts,
        maxCommitAttempts: 3,
        onLost: member.fail,
        fencedGraceMs: 2 * ctx.config.sessionTimeoutMs,
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

function sinks(config: Config, write?: (line: string) => void | Promise<void>): Sink[] {
  return config.notify.map((name) =>
    name === 'console'
      ? consoleSink(write)
      : webhookSink({
          url: config.webhookUrl,
          secret: config.webhookSecret,
          attempts: config.webhookAttempts,
          backoffMs: config.webhookBackoffMs,
          timeoutMs: config.webhookTimeoutMs,
        }),
  )
}
