/**
 * A Map that keeps the `capacity` keys set last (by first set: setting a key again changes its
 * value, not its place), forgetting the oldest to make room.
 *
 * Why not a Map and `map.delete(map.keys().next().value)`: Bun's engine (JavaScriptCore) leaves a
 * deleted entry's slot in place until the table is next rebuilt, and an iterator from the start
 * steps over every such slot. Used as a queue, the oldest key costs more to find the more were
 * forgotten before it: 0.3 µs a set at 50 keys, 8.2 at 10,000 and 35 at 100,000; here 0.1, 0.1 and
 * 0.8 (`bun bench/micro/bounded-map.ts`). The order is a ring of keys apart, so forgetting costs
 * one `delete`.
 */
export class BoundedMap<K, V> {
  readonly #entries = new Map<K, V>()
  /** The keys in the order they were first set, from `#oldest` on, wrapping around. */
  readonly #order: K[] = []
  #oldest = 0

  constructor(readonly capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError(`a BoundedMap holds at least 1 key, not ${capacity}`)
  }

  get size(): number {
    return this.#entries.size
  }

  get(key: K): V | undefined {
    return this.#entries.get(key)
  }

  has(key: K): boolean {
    return this.#entries.has(key)
  }

  /** Sets `key`; returns the entry forgotten to make room for it, if one was. */
  set(key: K, value: V): [K, V] | undefined {
    const entries = this.#entries
    if (entries.has(key)) {
      entries.set(key, value)
      return undefined
    }
    entries.set(key, value)
    const order = this.#order
    if (order.length < this.capacity) {
      order.push(key)
      return undefined
    }
    const oldest = order[this.#oldest]!
    order[this.#oldest] = key
    this.#oldest = (this.#oldest + 1) % this.capacity
    const forgotten = entries.get(oldest) as V
    entries.delete(oldest)
    return [oldest, forgotten]
  }

  /** The values, oldest first. */
  values(): IterableIterator<V> {
    return this.#entries.values()
  }
}
