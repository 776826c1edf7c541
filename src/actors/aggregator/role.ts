import { topology } from '../../topology.ts'
import { ConsumerRole } from '../runtime/consumer-role.ts'
import type { RoleFactory } from '../runtime/role.ts'

/**
 * `--roles=aggregator`, still a placeholder for the RateAggregator: it joins its group on its real
 * topic with an actor per partition that commits what it read (at-least-once), so that its group's
 * lag stays a true figure.
 */
export const aggregatorRole: RoleFactory = (ctx) =>
  new ConsumerRole(ctx, {
    name: 'aggregator',
    topics: topology(ctx.topics).aggregator.reads,
    partitionActor: (_partition, _generation, member) => ({
      receive: (records) => member.consumer().commit(records).catch((error) => member.fail(error)),
    }),
  })
