/** Latency samples in milliseconds, summarized as a distribution. */
export interface Percentiles {
  count: number
  p50: number
  p95: number
  p99: number
  max: number
}

/** Nearest-rank percentiles of `samples` (ms), rounded to 0.01 ms. An empty sample gives zeros. */
export function percentiles(samples: ArrayLike<number>): Percentiles {
  const sorted = Float64Array.from(samples).sort()
  const at = (q: number) => (sorted.length === 0 ? 0 : round(sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)]))
  return { count: sorted.length, p50: at(0.5), p95: at(0.95), p99: at(0.99), max: sorted.length === 0 ? 0 : round(sorted[sorted.length - 1]) }
}

/**
 * The median of a few figures (the mean of the middle two of an even count), to two decimals: of
 * ratios over rounds, where the nearest rank of `percentiles` would take the lower of two.
 */
export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  const mid = sorted.length >> 1
  return round(sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2)
}

/** Events per second over `ms`, rounded to a whole number (0 when nothing happened). */
export const perSecond = (events: number, ms: number): number => (ms > 0 ? Math.round((events * 1000) / ms) : 0)

/** `a / b` to two decimals, or null when there is no baseline. */
export const ratio = (a: number, b: number | null | undefined): number | null => (b ? Math.round((a / b) * 100) / 100 : null)

export const round = (n: number, digits = 2): number => Math.round(n * 10 ** digits) / 10 ** digits

/** A growable sample of numbers without boxing each one. */
export class Samples {
  #data = new Float64Array(1024)
  #length = 0

  push(value: number): void {
    if (this.#length === this.#data.length) {
      const grown = new Float64Array(this.#data.length * 2)
      grown.set(this.#data)
      this.#data = grown
    }
    this.#data[this.#length++] = value
  }

  get length(): number {
    return this.#length
  }

  values(): Float64Array {
    return this.#data.subarray(0, this.#length)
  }
}
