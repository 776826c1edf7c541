import { BoundedMap } from '../../bounded-map.ts'

/**
 * Deliveries this process made whose record may not be committed yet. When a commit fails and
 * the batch is handled again in this process (after a broker fault), a delivery found here is not
 * repeated. Bounded: the oldest are forgotten beyond `capacity`, far more than a batch in flight holds.
 */
export class RecentDeliveries {
  readonly #keys: BoundedMap<string, true>

  constructor(capacity = 100_000) {
    this.#keys = new BoundedMap(capacity)
  }

  has(key: string): boolean {
    return this.#keys.has(key)
  }

  add(key: string): void {
    this.#keys.set(key, true)
  }
}
