import { compiledSchema } from '../events/check.ts'
import { Sku } from '../../schemas/inventory.ts'
import { requestStockLevel, stockLevelOf } from '../api/stock/service.ts'
import type { Config } from '../config/options.ts'
import { ConfigError, NotFoundError, TopicMismatchError } from '../errors.ts'
import { createLog } from '../kafka/index.ts'
import { partitionForKey } from '../kafka/partitioner.ts'
import { readToEnd } from '../kafka/read-to-end.ts'
import { topicNames } from '../topology.ts'

export const stockUsage = 'shop stock set SKU QUANTITY | shop stock get SKU   (against --brokers / SHOP_BROKERS)'

/**
 * `shop stock set SKU QTY` sends a stock level to the SKU's InventoryActor (as PUT /stock does);
 * `shop stock get SKU` reads the SKU's latest level from the stock changelog. Prints one JSON line.
 * Throws ConfigError for bad arguments, NotFoundError for an unknown SKU.
 */
export async function stockCommand(args: string[], config: Config): Promise<string> {
  const [action, sku, quantity, ...rest] = args
  if ((action !== 'set' && action !== 'get') || rest.length > 0 || (action === 'get' && quantity !== undefined)) {
    throw new ConfigError(`usage: ${stockUsage}`)
  }
  if (!sku || !compiledSchema(Sku).Check(sku)) throw new ConfigError(`SKU must be 1 to 64 of A-Z a-z 0-9 . _ : -; got ${JSON.stringify(sku ?? '')}`)
  if (action === 'set' && !/^\d+$/.test(quantity ?? '')) throw new ConfigError(`QUANTITY must be an integer >= 0; got ${JSON.stringify(quantity ?? '')}`)
  if (config.bus === 'memory') {
    throw new ConfigError('shop stock needs a Kafka bus (--brokers or SHOP_BROKERS): the memory bus lives inside one shop process; use PUT/GET /stock/{sku} on it instead')
  }
  const log = createLog(config)
  const topics = topicNames(config.topicPrefix)
  try {
    const [described] = await log.admin.describeTopics([topics.stock])
    if (!described) throw new TopicMismatchError(`topic ${topics.stock} does not exist: start shop once against these brokers (and --topic-prefix) to create its topics`)
    if (action === 'set') {
      await requestStockLevel(log.producer(), topics, sku, Number(quantity), 'shop/cli')
      return JSON.stringify({ sku, available: Number(quantity), status: 'accepted' })
    }
    let latest: { available: number; reserved: number } | undefined
    await readToEnd(log, { topic: topics.stock, partition: partitionForKey(sku, described.partitions) }, 0n, (records) => {
      for (const record of records) if (record.key === sku) latest = record.value === null ? undefined : (stockLevelOf(record.value) ?? latest)
    })
    if (!latest) throw new NotFoundError(`no stock recorded for SKU ${sku}`)
    return JSON.stringify({ sku, available: latest.available, reserved: latest.reserved })
  } finally {
    await log.close()
  }
}
