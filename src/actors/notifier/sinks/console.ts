import type { Notification, Sink } from './types.ts'

let stdout: ReturnType<typeof Bun.stdout.writer> | undefined

/**
 * Writes to stdout and resolves once the line has been handed to the OS, so that a notification
 * recorded as sent is never still in a buffer that the process's exit would drop.
 */
async function toStdout(line: string): Promise<void> {
  stdout ??= Bun.stdout.writer()
  stdout.write(line)
  await stdout.flush()
}

/**
 * One JSON line per notification on stdout (logs go to stderr), for humans and for pipes. A
 * notification counts as sent once the line is flushed, so that one is never recorded as sent and
 * then lost in a buffer at exit.
 */
export function consoleSink(write: (line: string) => void | Promise<void> = toStdout): Sink {
  return {
    name: 'console',
    async send(n: Notification) {
      const { id, ...rest } = n
      await write(`${JSON.stringify({ event: 'notification', notificationId: id, ...rest, time: new Date().toISOString() })}\n`)
    },
  }
}
