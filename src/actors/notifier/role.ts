import type { Config } from '../../config/options.ts'
import type { OutboundSinkName } from '../../../schemas/notification.ts'
import { type RoleFactory, compositeRole } from '../runtime/role.ts'
import { transactionalRole } from '../runtime/transactional/role.ts'
import { deliveryHandler } from './delivery.ts'
import { notifierHandler } from './handler.ts'
import { consoleSink } from './sinks/console.ts'
import { smtpSink } from './sinks/smtp.ts'
import type { Sink } from './sinks/types.ts'
import { webhookSink } from './sinks/webhook.ts'
import { type Metrics, secondsSince } from '../../observability/metrics.ts'
import { SpanKind, inSpan } from '../../observability/tracing.ts'

/**
 * `--roles=notifier`: a Notifier per partition of `order.status`, deciding what customers are
 * told and writing the console sink; with an outbound sink in `--notify` (webhook, smtp), also the
 * delivery dispatcher, its own consumer group over the outbox `notification.requests`.
 */
export const notifierRole: RoleFactory = (ctx) => {
  const outbound = ctx.config.notify.filter((name): name is OutboundSinkName => name !== 'console')
  const console = ctx.config.notify.includes('console') ? measured(consoleSink(ctx.write), ctx.metrics) : undefined
  const notifier = transactionalRole(ctx, 'notifier', notifierHandler(ctx.topics, { console, outbound }))
  if (outbound.length === 0) return notifier
  const onRetry = (sink: string) => () => ctx.metrics.deliveryRetries.inc({ sink })
  const sinks = outbound.map((name) => measured(outboundSink(name, ctx.config, onRetry(name)), ctx.metrics))
  const delivery = transactionalRole(ctx, 'delivery', deliveryHandler(ctx.topics, sinks))
  return compositeRole('notifier', [notifier, delivery], async () => {
    for (const sink of sinks) await sink.close?.()
  })
}

/** Counts each delivery and its failures, times it from the order's acceptance, and traces it (`notify {sink}`, its calls as children). */
function measured(sink: Sink, metrics: Metrics): Sink {
  for (const result of ['delivered', 'failed']) metrics.deliveries.inc({ sink: sink.name, result }, 0)
  return {
    name: sink.name,
    async send(notification) {
      try {
        const attributes = { 'shop.order.id': notification.orderId, 'shop.notification.id': notification.id, 'shop.notification.sink': sink.name }
        await inSpan(`notify ${sink.name}`, SpanKind.INTERNAL, attributes, () => sink.send(notification))
      } catch (error) {
        metrics.deliveries.inc({ sink: sink.name, result: 'failed' })
        throw error
      }
      metrics.deliveries.inc({ sink: sink.name, result: 'delivered' })
      if (notification.placedAt) metrics.notificationLatency.observe({ sink: sink.name, status: notification.status }, secondsSince(notification.placedAt))
    },
    close: sink.close?.bind(sink),
  }
}

function outboundSink(name: OutboundSinkName, config: Config, onRetry: () => void): Sink {
  if (name === 'webhook') {
    return webhookSink({
      onRetry,
      url: config.webhookUrl,
      secret: config.webhookSecret,
      attempts: config.webhookAttempts,
      backoffMs: config.webhookBackoffMs,
      timeoutMs: config.webhookTimeoutMs,
    })
  }
  return smtpSink({
    onRetry,
    host: config.smtpHost,
    port: config.smtpPort,
    tls: config.smtpTls,
    user: config.smtpUser,
    password: config.smtpPassword,
    from: config.smtpFrom,
    to: config.smtpTo,
    attempts: config.smtpAttempts,
    backoffMs: config.smtpBackoffMs,
    timeoutMs: config.smtpTimeoutMs,
  })
}
