import { describe, expect, test } from 'bun:test'
import { murmur2, partitionForKey } from './partitioner.ts'

// [key, Utils.murmur2(utf8(key)), toPositive(hash) % 6], printed by Apache Kafka 4.1.2's own
// org.apache.kafka.common.utils.Utils (kafka-clients jar) for these keys.
const javaVectors: Array<[string, number, number]> = [
  ['', 275646681, 3],
  ['a', -1563381124, 4],
  ['ab', 316155434, 2],
  ['abc', 479470107, 3],
  ['abcd', -1323649548, 2],
  ['user-1', 1404122828, 2],
  ['user-42', 1459644460, 4],
  ['sku-ABC-123', -439731002, 0],
  ['21', -973932308, 0],
  ['ünïcødé', 2147241326, 2],
  ['a much longer key that spans several four-byte blocks', 1930073766, 0],
]

describe('Kafka default partitioner', () => {
  test.each(javaVectors)('murmur2(%p) matches the Java client', (key, hash, partition) => {
    expect(murmur2(new TextEncoder().encode(key))).toBe(hash)
    expect(partitionForKey(key, 6)).toBe(partition)
  })

  test('partitions stay in range for any partition count', () => {
    for (let n = 1; n <= 64; n++) {
      for (let i = 0; i < 200; i++) {
        const p = partitionForKey(`k${i}`, n)
        expect(p).toBeGreaterThanOrEqual(0)
        expect(p).toBeLessThan(n)
      }
    }
  })
})
