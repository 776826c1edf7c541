import pino from 'pino'

/**
 * Structured JSON logs on stderr (stdout carries the console notifications). Every line names an
 * `event` in `area:subject:verb` form so that it can be matched on.
 */
export type Logger = pino.Logger

export function createLogger(level: string): Logger {
  return pino(
    { level, base: { service: 'shop', pid: process.pid }, timestamp: pino.stdTimeFunctions.isoTime },
    pino.destination({ dest: 2, sync: true }),
  )
}
