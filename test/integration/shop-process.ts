import { randomUUID } from 'node:crypto'
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll } from 'bun:test'
import { KafkaLog } from '../../src/kafka/platformatic/index.ts'
import { ShopProcess } from '../harness/shop-process.ts'
import { testBrokers } from './broker.ts'

export { ShopProcess, repo } from '../harness/shop-process.ts'

/** Flags for a process of one test deployment on the real broker (its own topics and state directory). */
export function deploymentFlags(prefix: string, roles: string, extra: string[] = [], dataDir = mkdtempSync(join(tmpdir(), 'shop-state-'))): string[] {
  return [
    '--bus=kafka',
    `--brokers=${testBrokers.join(',')}`,
    `--topic-prefix=${prefix}`,
    `--roles=${roles}`,
    '--http-port=0',
    '--partitions=6',
    '--session-timeout-ms=4000',
    `--data-dir=${dataDir}`,
    '--log-level=debug',
    ...extra,
  ]
}

export const newPrefix = () => `test-${randomUUID().slice(0, 8)}.`

/**
 * The processes of one test file and a log client to check their topics. After the file, each
 * process's stderr is kept in $SHOP_TEST_LOGS/<name>/<n>.log (scripts/test.sh makes a directory
 * per run; /tmp/shop-test-logs otherwise), then everything is killed and closed.
 */
export function deployment(name: string) {
  const processes: ShopProcess[] = []
  const log = new KafkaLog({ brokers: testBrokers })
  afterAll(async () => {
    const dir = join(process.env.SHOP_TEST_LOGS ?? '/tmp/shop-test-logs', name)
    mkdirSync(dir, { recursive: true })
    processes.forEach((p, i) => writeFileSync(join(dir, `${i}.log`), p.stderr.join('\n')))
    for (const p of processes) p.kill('SIGKILL')
    await log.close()
  })
  const spawn = async (...args: Parameters<typeof ShopProcess.spawn>) => {
    const shop = await ShopProcess.spawn(...args)
    processes.push(shop)
    return shop
  }
  return { log, spawn }
}
