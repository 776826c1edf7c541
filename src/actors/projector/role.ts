import { readRange } from '../../kafka/read-to-end.ts'
import type { ConsumedRecord, ProduceRecord } from '../../kafka/types.ts'
import { projectedSteps } from '../../read-model/project.ts'
import { groupName, topology } from '../../topology.ts'
import { deadLetterRecord } from '../runtime/transactional/dead-letter.ts'
import { ConsumerRole } from '../runtime/consumer-role.ts'
import type { RoleFactory } from '../runtime/role.ts'

/**
 * `--roles=projector`: folds `order.status` into the read model, a projector per partition.
 * Exactly once into the database, the way Kafka Connect sinks do it: the consumed offsets are
 * stored in the same database transaction as the rows, and the database's offsets are the truth.
 * The group's committed offsets only pace the consumer (committed after the database); when the
 * group is ahead of the database (a database restored from a backup, or emptied), the gap is read
 * from the topic first. A record that cannot be decoded moves the offset, changes no row, and goes
 * to the dead-letter topic (at least once).
 */
export const projectorRole: RoleFactory = (ctx) => {
  const { log, logger, topics } = ctx
  const group = groupName(ctx.config.topicPrefix, 'projector')
  const deadLetters = log.producer({ clientId: 'shop-projector' })
  return new ConsumerRole(ctx, {
    name: 'projector',
    topics: topology(topics).projector.reads,
    partitionActor: ({ partition, member }) => ({
      async receive(records) {
        const model = ctx.readModel()
        const poison: ProduceRecord[] = []
        const project = async (batch: ConsumedRecord[]) => {
          const steps = projectedSteps(batch, (record, error) => {
            logger.error({ event: 'projector:record:dead-letter', partition, offset: String(record.offset), err: error })
            poison.push(deadLetterRecord(topics.deadLetter, group, record, error, 1))
          })
          await model.apply({ topic: batch[0].topic, partition }, steps)
        }
        const first = records[0]
        const stored = (await model.offsets(first.topic)).get(partition) ?? 0n
        if (first.offset > stored) {
          logger.warn({ event: 'projector:gap', partition, from: String(stored), to: String(first.offset) }, 'the read model is behind its group; reading the gap from the topic')
          await readRange(log, first, stored, first.offset, project)
        }
        await project(records)
        if (poison.length > 0) await deadLetters.send(poison)
        await member.consumer().commit(records).catch((error) => member.fail(error))
      },
    }),
  })
}
