import { events } from '../../../schemas/events.ts'
import { decodeEvent } from '../../events/envelope.ts'
import { InvalidEventError } from '../../errors.ts'
import type { TopicNames } from '../../topology.ts'
import type { StepHandler } from '../runtime/transactional/types.ts'
import { RecentDeliveries } from './recent-deliveries.ts'
import type { Sink } from './sinks/types.ts'

/**
 * The delivery dispatcher of one partition of `notification.requests`, the notifier's outbox: it
 * performs each request with its sink (the sink retries transient failures under its own policy)
 * and commits the request's offset once the delivery is done. Requests of a batch are delivered
 * side by side; a delivery that fails for good goes to the dead-letter topic with its error.
 * Delivery is at least once: a crash after a delivery and before its commit repeats it, with the
 * same notification id (`X-Shop-Notification-Id`, the mail's `Message-ID`) for receivers to
 * drop. A batch handled again in this process after a failed commit does not repeat deliveries.
 */
export function deliveryHandler(topics: TopicNames, sinks: Sink[]): StepHandler {
  const byName = new Map(sinks.map((s) => [s.name, s]))
  const delivered = new RecentDeliveries()
  return {
    stores: {},
    concurrent: true,
    async handle(record, ctx) {
      if (record.topic !== topics.notificationRequests) throw new InvalidEventError(`the delivery dispatcher does not read ${record.topic}`)
      const { sink: name, ...notification } = decodeEvent(events.notificationRequest, record)
      const sink = byName.get(name)
      if (!sink) throw new InvalidEventError(`a notification for the ${name} sink, which this process does not run (--notify)`)
      const key = `${notification.id}/${name}`
      if (delivered.has(key)) return
      try {
        await sink.send(notification)
        delivered.add(key)
      } catch (error) {
        ctx.deadLetter(error)
      }
    },
  }
}
