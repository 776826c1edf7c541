import type { Config } from '../../config/options.ts'
import type { RoleFactory } from '../runtime/role.ts'
import { transactionalRole } from '../runtime/transactional/role.ts'
import { notifierHandler } from './handler.ts'
import { consoleSink } from './sinks/console.ts'
import type { Sink } from './sinks/types.ts'
import { webhookSink } from './sinks/webhook.ts'

/** `--roles=notifier`: a Notifier per partition of the outcome topics, delivering to `--notify` sinks. */
export const notifierRole: RoleFactory = (ctx) => transactionalRole(ctx, 'notifier', notifierHandler(ctx.topics, sinks(ctx.config, ctx.write)))

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
