/**
 * A Bloom filter of keys: `has` is false only for a key never added; true for every key added,
 * and for about one key in a hundred of those never added once `capacity` keys are in. It holds
 * 10 bits a key of its capacity (4 probes: 1.2% false positives at capacity) and no key itself.
 *
 * The SQLite state cache answers with it for keys it does not hold: a store asks the cache for
 * every key it reads or writes first (a new order's saga and early cancel, each line's reservation),
 * and in a draining stream core three in four of those lookups find nothing. `bun
 * bench/micro/state-cache.ts lookups [rows]`, on files of 60,000 and 300,000 rows: a lookup of a key
 * the file does not hold 0.07 to 0.26 µs of CPU against 1.29 to 2.32 without the filter; one of a
 * key it holds 3.9 to 5.3 µs either way; the filter made from the file at the first lookup in 25
 * and 129 ms (~0.43 µs a key). In the stream core's profile (`bun bench stream --profile`, one
 * process) SQLite's lookups went from 5.4% to 3.7% of the samples, and the filter took 0.2%.
 */
export class KeyFilter {
  readonly #bits: Int32Array
  /** The bit count's mask: the count is a power of two. */
  readonly #mask: number
  /** Keys added that were not in already, as far as the filter could tell. */
  #added = 0

  constructor(readonly capacity: number) {
    let bits = 1024
    while (bits < capacity * bitsPerKey) bits *= 2
    this.#bits = new Int32Array(bits >>> 5)
    this.#mask = bits - 1
  }

  /** Whether more keys were added than the filter is sized for: its false positives then pass 1.2%. */
  get full(): boolean {
    return this.#added > this.capacity
  }

  has(key: string): boolean {
    hash(key)
    let h1 = first
    for (let i = 0; i < probes; i++) {
      const bit = h1 & this.#mask
      if ((this.#bits[bit >>> 5]! & (1 << (bit & 31))) === 0) return false
      h1 = (h1 + second) | 0
    }
    return true
  }

  add(key: string): void {
    hash(key)
    let h1 = first
    let fresh = false
    for (let i = 0; i < probes; i++) {
      const bit = h1 & this.#mask
      const word = bit >>> 5
      const flag = 1 << (bit & 31)
      if ((this.#bits[word]! & flag) === 0) {
        this.#bits[word]! |= flag
        fresh = true
      }
      h1 = (h1 + second) | 0
    }
    // A key rewritten is in already: only new ones fill the filter.
    if (fresh) this.#added++
  }
}

const bitsPerKey = 10
const probes = 4

/** The last key's two hashes (see `hash`): module state, so that a probe allocates nothing. */
let first = 0
let second = 0

/**
 * Two 32-bit hashes of a key for double hashing (Kirsch and Mitzenmacher), into `first` and
 * `second`: FNV-1a over its UTF-16 code units, then MurmurHash3's finalizer and a second mix, so
 * that keys differing in one character spread over the whole filter. The second is odd, so that a
 * key's four probes never land on one bit.
 */
function hash(key: string): void {
  let h = 0x811c9dc5
  for (let i = 0; i < key.length; i++) h = Math.imul(h ^ key.charCodeAt(i), 0x01000193)
  h ^= h >>> 16
  h = Math.imul(h, 0x85ebca6b)
  h ^= h >>> 13
  h = Math.imul(h, 0xc2b2ae35)
  h ^= h >>> 16
  let g = Math.imul(h ^ (h >>> 15), 0x2c1b3c6d)
  g = Math.imul(g ^ (g >>> 12), 0x297a2d39)
  g ^= g >>> 15
  first = h
  second = g | 1
}
