/**
 * How long a shop process's event loop was held up during a measurement: prom-client's
 * `nodejs_eventloop_lag_p99_seconds` and `_max_seconds` from its `GET /metrics`, which read Node's
 * `monitorEventLoopDelay` histogram (a timer every 10 ms, how late it fired) and reset it. So a
 * read before the measurement starts it afresh, and a read after it gives the measurement's delays
 * alone. A loop held by a long synchronous step, or by the process waiting for a core (see
 * `waitPercent` in sampler.ts), shows here as a delay that every request and record of that
 * process waited out.
 */
export interface EventLoopDelay {
  name: string
  p99Ms: number
  maxMs: number
}

/** Reads (and so resets) the event-loop delay of the process serving `url`; undefined if it has no such gauges. */
export async function readEventLoopDelay(name: string, url: string): Promise<EventLoopDelay | undefined> {
  const text = await (await fetch(`${url}/metrics`)).text()
  const gauge = (metric: string) => {
    const value = text.match(new RegExp(`^${metric} ([0-9.eE+-]+)$`, 'm'))?.[1]
    return value === undefined ? undefined : Math.round(Number(value) * 10_000) / 10
  }
  const p99Ms = gauge('nodejs_eventloop_lag_p99_seconds')
  const maxMs = gauge('nodejs_eventloop_lag_max_seconds')
  return p99Ms === undefined || maxMs === undefined ? undefined : { name, p99Ms, maxMs }
}
