import type { Config } from '../config/options.ts'
import { ConfigError, TopicMismatchError } from '../errors.ts'
import { createLog } from '../kafka/index.ts'
import { openReadModel, readModelTarget } from '../read-model/open.ts'
import { rebuildReadModel } from '../read-model/project.ts'
import { topicNames } from '../topology.ts'

export const rebuildUsage = 'shop rebuild read-model   (against --brokers / SHOP_BROKERS and --read-model / SHOP_READ_MODEL)'

/**
 * `shop rebuild read-model` drops the projection in --read-model and folds `order.status` into it
 * again from the topic's first offset. Prints one JSON line with what it read. A live projector
 * may keep running: it picks up where the rebuild is.
 */
export async function rebuildCommand(args: string[], config: Config): Promise<string> {
  if (args.length !== 1 || args[0] !== 'read-model') throw new ConfigError(`usage: ${rebuildUsage}`)
  if (config.bus === 'memory') {
    throw new ConfigError('shop rebuild needs a Kafka bus (--brokers or SHOP_BROKERS): the memory bus lives inside one shop process, and so does its read model')
  }
  const log = createLog(config)
  const target = readModelTarget(config, 'kafka')
  const model = openReadModel(target)
  const topic = topicNames(config.topicPrefix).orderStatus
  try {
    const [described] = await log.admin.describeTopics([topic])
    if (!described) throw new TopicMismatchError(`topic ${topic} does not exist: start shop once against these brokers (and --topic-prefix) to create its topics`)
    const started = performance.now()
    const report = await rebuildReadModel(log, model, topic)
    const where = target.kind === 'sqlite' ? `sqlite:${target.path}` : redactPassword(target.url)
    return JSON.stringify({ rebuilt: 'read-model', readModel: where, topic, ...report, ms: Math.round(performance.now() - started) })
  } finally {
    await model.close()
    await log.close()
  }
}

/** A connection URL fit for output: its password replaced. */
function redactPassword(url: string): string {
  const parsed = new URL(url)
  if (parsed.password) parsed.password = '***'
  return parsed.toString()
}
