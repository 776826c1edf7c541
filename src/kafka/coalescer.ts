interface Waiting<T, R> {
  items: T[]
  /** Items of this call already taken into a request. */
  taken: number
  results: R[]
  done: number
  failed: boolean
  resolve: (results: R[]) => void
  reject: (error: unknown) => void
}

/**
 * Splits `items` into runs of total `weight` at most `max` (an item heavier than `max` goes alone),
 * keeping their order.
 */
export function chunked<T>(items: T[], weight: (item: T) => number, max: number): T[][] {
  const chunks: T[][] = []
  let current: T[] = []
  let load = 0
  for (const item of items) {
    const w = weight(item)
    if (current.length > 0 && load + w > max) {
      chunks.push(current)
      current = []
      load = 0
    }
    current.push(item)
    load += w
  }
  if (current.length > 0) chunks.push(current)
  return chunks
}

/**
 * Merges concurrent calls into fewer requests. One request is in flight at a time; the items of
 * calls made meanwhile queue up and leave together in the next one, up to `maxWeight` per request
 * (a large call is split over several). So an idle caller waits for no timer, and a busy one gets
 * requests as large as the load. Items leave in call order. Each call resolves with the results of
 * its own items, in order, or rejects with the error of a request that carried any of them (its
 * items not yet sent are then dropped).
 */
export class Coalescer<T, R> {
  #queue: Array<Waiting<T, R>> = []
  #busy = false

  constructor(
    private readonly request: (items: T[]) => Promise<R[]>,
    private readonly weight: (item: T) => number,
    private readonly maxWeight: number,
  ) {}

  submit(items: T[]): Promise<R[]> {
    if (items.length === 0) return Promise.resolve([])
    return new Promise<R[]>((resolve, reject) => {
      this.#queue.push({ items, taken: 0, results: new Array(items.length), done: 0, failed: false, resolve, reject })
      if (!this.#busy) void this.#drain()
    })
  }

  async #drain(): Promise<void> {
    this.#busy = true
    while (this.#queue.length > 0) {
      const carried: Array<{ call: Waiting<T, R>; from: number; count: number }> = []
      const items: T[] = []
      let load = 0
      for (const call of this.#queue) {
        const from = call.taken
        while (call.taken < call.items.length) {
          const w = this.weight(call.items[call.taken])
          if (items.length > 0 && load + w > this.maxWeight) break
          items.push(call.items[call.taken++])
          load += w
        }
        if (call.taken > from) carried.push({ call, from, count: call.taken - from })
        if (call.taken < call.items.length) break
      }
      try {
        const results = await this.request(items)
        let at = 0
        for (const { call, from, count } of carried) {
          for (let i = 0; i < count; i++) call.results[from + i] = results[at++]
          call.done += count
          if (call.done === call.items.length) call.resolve(call.results)
        }
      } catch (error) {
        for (const { call } of carried) {
          call.failed = true
          call.reject(error)
        }
      }
      this.#queue = this.#queue.filter((call) => !call.failed && call.done < call.items.length)
    }
    this.#busy = false
  }
}
