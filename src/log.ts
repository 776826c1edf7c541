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
