import { type RoleFactory, compositeRole } from '../runtime/role.ts'
import { transactionalRole } from '../runtime/transactional/role.ts'
import { windowOwnerHandler } from './owner.ts'
import { partialsHandler } from './partials.ts'

/**
 * `--roles=aggregator`, the RateAggregator: orders per minute by event time, exactly once, in two
 * groups as Kafka Streams runs a `groupBy` with a repartition topic. The `aggregator` group counts
 * each record of its partition into partial counts keyed by window; the `aggregator-windows` group
 * owns each window, sums the partials and writes `metrics.order.rate`.
 */
export const aggregatorRole: RoleFactory = (ctx) =>
  compositeRole('aggregator', [
    transactionalRole(ctx, 'aggregator', partialsHandler(ctx.topics, ctx.config.partitions, ctx.config.aggregatorIdleMs)),
    transactionalRole(
      ctx,
      'aggregator-windows',
      windowOwnerHandler({ topics: ctx.topics, graceMs: ctx.config.aggregatorGraceMs, sources: ctx.config.partitions, metrics: ctx.metrics, logger: ctx.logger }),
    ),
  ])
