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

/**
 * `--roles=notifier`: a Notifier per partition of `order.status`, deciding what customers are
 * told and writing the console sink; with an outbound sink in `--notify` (webhook, smtp), also the
 * delivery dispatcher, its own consumer group over the outbox `notification.requests`.
 */
export const notifierRole: RoleFactory = (ctx) => {
  const outbound = ctx.config.notify.filter((name): name is OutboundSinkName => name !== 'console')
  const console = ctx.config.notify.includes('console') ? consoleSink(ctx.write) : undefined
  const notifier = transactionalRole(ctx, 'notifier', notifierHandler(ctx.topics, { console, outbound }))
  if (outbound.length === 0) return notifier
  const sinks = outbound.map((name) => outboundSink(name, ctx.config))
  const delivery = transactionalRole(ctx, 'delivery', deliveryHandler(ctx.topics, sinks))
  return compositeRole('notifier', [notifier, delivery], async () => {
    for (const sink of sinks) await sink.close?.()
  })
}

function outboundSink(name: OutboundSinkName, config: Config): Sink {
  if (name === 'webhook') {
    return webhookSink({
      url: config.webhookUrl,
      secret: config.webhookSecret,
      attempts: config.webhookAttempts,
      backoffMs: config.webhookBackoffMs,
      timeoutMs: config.webhookTimeoutMs,
    })
  }
  return smtpSink({
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
