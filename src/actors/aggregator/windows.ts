/** The aggregator's windows: tumbling, one minute, aligned on the minute (UTC). */
export const windowMs = 60_000

/** The start (ms since the epoch) of the window holding `time`. */
export const windowOf = (time: number): number => Math.floor(time / windowMs) * windowMs

/** A window's key on the repartition topic and on `metrics.order.rate`: its start, ISO 8601 UTC. */
export const windowKey = (start: number): string => new Date(start).toISOString()
