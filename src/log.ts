import pino from 'pino'
import { activeTraceIds } from './observability/tracing.ts'

/**
 * Structured JSON logs on stderr (stdout carries the console notifications). Every line names an
 * `event` in `area:subject:verb` form so that it can be matched on.
 */
export type Logger = pino.Logger

export function createLogger(level: string): Logger {
  return pino(
    {
      level,
      base: { service: 'shop', pid: process.pid },
      timestamp: pino.stdTimeFunctions.isoTime,
      // A line written while a span is active names it (trace_id, span_id), to go from a log line to its trace.
      mixin: () => activeTraceIds() ?? {},
    },
    pino.destination({ dest: 2, sync: true }),
  )
}

/**
 * A warning logged at most once per `everyMs`: a broker that is away fails every attempt of a
 * periodic task, and one line a minute says so as well as a line a second.
 */
export function throttledWarning(logger: Logger, everyMs: number): (fields: object, message: string) => void {
  let lastAt = -Infinity
  return (fields, message) => {
    if (performance.now() - lastAt < everyMs) return
    lastAt = performance.now()
    logger.warn(fields, message)
  }
}
