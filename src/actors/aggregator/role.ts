import { type RoleFactory, compositeRole } from '../runtime/role.ts'
import { transactionalRole } from '../runtime/transactional/role.ts'
import { windowOwnerHandler } from './owner.ts'
import { partialsHandler } from './partials.ts'

/**
 * `--roles=aggregator`, the RateAggregator: orders per minute by event time, exactly once, in two
 * groups as Kafka Streams runs a `groupBy` with a repartition topic. The `aggregator` group counts
 * each record of its partition into partial counts keyed by window; the `aggregator-windows` group
 * owns each window, sums the partials and writes `metrics.order.rate`.
 *
 * Both commit at most once per `--aggregator-commit-interval-ms` (100 ms, Kafka Streams' default
 * under exactly-once): a minute's counts do not need their records' transactions at once, and
 * committing one per batch, as the order's own hops do, made the aggregator's groups half of the
 * pipeline's transactions at a quarter of its throughput (`bun bench latency --log-level=debug`),
 * their requests and markers taking the CPU that the order's hops wait for on a full machine.
 * Longer intervals gained nothing more (500 ms against 100: p50 130 / 161 against 136 / 168 ms at
 * 25 / 50% load) and hold more records uncommitted, which the consumer-lag alert counts.
 */
export const aggregatorRole: RoleFactory = (ctx) => {
  const options = { commitIntervalMs: ctx.config.aggregatorCommitIntervalMs }
  return compositeRole('aggregator', [
    transactionalRole(ctx, 'aggregator', partialsHandler(ctx.topics, ctx.config.partitions, ctx.config.aggregatorIdleMs), options),
    transactionalRole(
      ctx,
      'aggregator-windows',
      windowOwnerHandler({ topics: ctx.topics, graceMs: ctx.config.aggregatorGraceMs, sources: ctx.config.partitions, metrics: ctx.metrics, logger: ctx.logger }),
      options,
    ),
  ])
}
