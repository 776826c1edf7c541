interface Waiting<T, R> {
  items: T[]
  resolve: (results: R[]) => void
  reject: (error: unknown) => void
}

/**
 * Merges concurrent calls into fewer requests. One request is in flight at a time; the items of
 * calls made meanwhile queue up and leave together in the next one (up to `maxItems`, never
 * splitting a call). So an idle caller waits for no timer, and a busy one gets batches as large as
 * the load. Each call resolves with the results of its own items, in order, or rejects with the
 * error of the request that carried them. Items leave in call order.
 */
export class Coalescer<T, R> {
  #queue: Array<Waiting<T, R>> = []
  #busy = false

  constructor(
    private readonly request: (items: T[]) => Promise<R[]>,
    private readonly maxItems: number,
  ) {}

  submit(items: T[]): Promise<R[]> {
    return new Promise<R[]>((resolve, reject) => {
      this.#queue.push({ items, resolve, reject })
      if (!this.#busy) void this.#drain()
    })
  }

  async #drain(): Promise<void> {
    this.#busy = true
    while (this.#queue.length > 0) {
      let count = this.#queue[0].items.length
      let take = 1
      while (take < this.#queue.length && count + this.#queue[take].items.length <= this.maxItems) count += this.#queue[take++].items.length
      const batch = this.#queue.splice(0, take)
      try {
        const results = await this.request(batch.flatMap((w) => w.items))
        let at = 0
        for (const waiting of batch) {
          waiting.resolve(results.slice(at, at + waiting.items.length))
          at += waiting.items.length
        }
      } catch (error) {
        for (const waiting of batch) waiting.reject(error)
      }
    }
    this.#busy = false
  }
}
