import type { Notification, Sink } from './types.ts'

/** One JSON line per notification on stdout (logs go to stderr), for humans and for pipes. */
export function consoleSink(write: (line: string) => void = (line) => process.stdout.write(line)): Sink {
  return {
    name: 'console',
    async send(n: Notification) {
      const { id, ...rest } = n
      write(`${JSON.stringify({ event: 'notification', notificationId: id, ...rest, time: new Date().toISOString() })}\n`)
    },
  }
}
