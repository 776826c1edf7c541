import { runtime } from '../../../runtime/index.ts'
import type { Notification, Sink } from './types.ts'
import { nowIso } from '../../../time.ts'

/**
 * One JSON line per notification on stdout (logs go to stderr), for humans and for pipes. A
 * notification counts as sent once the line is flushed, so that one is never recorded as sent and
 * then lost in a buffer at exit.
 */
export function consoleSink(write: (line: string) => void | Promise<void> = runtime.writeStdout): Sink {
  return {
    name: 'console',
    async send(n: Notification) {
      const { id, ...rest } = n
      await write(`${JSON.stringify({ event: 'notification', notificationId: id, ...rest, time: nowIso() })}\n`)
    },
  }
}
