/**
 * The keys of done entries (`Expiring`) and their `doneAt`, side by side (no object per entry), in
 * `doneAt` order, for the sweep to read oldest first. An entry is checked when read against the
 * key's current `doneAt`: one deleted or written again since it was queued is skipped (it is
 * queued again under its new value), and dropped once it reaches the head.
 */
export class DoneQueue {
  #keys: string[] = []
  #ats: number[] = []
  /** The first entry not yet dropped. */
  #head = 0
  /** Where the next read goes on from. */
  #cursor = 0

  /** Queues a done entry: at the end, but for one done before the last queued (written later). */
  add(key: string, at: number): void {
    const ats = this.#ats
    if (ats.length === this.#head || ats.at(-1)! <= at) {
      this.#keys.push(key)
      ats.push(at)
      return
    }
    // After the last entry done at or before `at`.
    let low = this.#head
    let high = ats.length
    while (low < high) {
      const mid = (low + high) >>> 1
      if (ats[mid]! <= at) low = mid + 1
      else high = mid
    }
    this.#keys.splice(low, 0, key)
    ats.splice(low, 0, at)
    // What was read stays read; the entry is found by a read from the start, as in SQLite's index.
    if (low < this.#cursor) this.#cursor++
  }

  /**
   * The `doneAt` of the entry the next read goes on from, if any: a lower bound of what is done
   * next (it may be stale, written again since).
   */
  get upcoming(): number | undefined {
    return this.#ats[this.#cursor]
  }

  /**
   * Up to `limit` keys done at or before `before` whose `current` doneAt is still the queued one:
   * from the oldest when `fromStart`, otherwise on from where the previous read stopped.
   */
  read(before: number, limit: number, fromStart: boolean, current: (key: string) => number | undefined): string[] {
    const keys: string[] = []
    let i = fromStart ? this.#head : this.#cursor
    for (; i < this.#keys.length && keys.length < limit; i++) {
      const at = this.#ats[i]!
      if (at > before) break
      const key = this.#keys[i]!
      if (current(key) === at) keys.push(key)
      else if (i === this.#head) this.#head++
    }
    this.#cursor = i
    if (this.#head > 1024 && this.#head * 2 > this.#keys.length) {
      this.#keys = this.#keys.slice(this.#head)
      this.#ats = this.#ats.slice(this.#head)
      this.#cursor -= this.#head
      this.#head = 0
    }
    return keys
  }
}
