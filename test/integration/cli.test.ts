import { expect, test } from 'bun:test'
import { join } from 'node:path'
import { testBrokers } from './broker.ts'
import { eventually } from '../harness/eventually.ts'
import { deployment, deploymentFlags, newPrefix, repo } from './shop-process.ts'

const { spawn } = deployment('cli')

function shop(...args: string[]) {
  const run = Bun.spawnSync([process.execPath, join(repo, 'src/main.ts'), ...args], { cwd: repo, stdout: 'pipe', stderr: 'pipe' })
  return { code: run.exitCode, stdout: run.stdout.toString(), stderr: run.stderr.toString() }
}

test('shop stock set/get work against the configured Kafka bus', async () => {
  const prefix = newPrefix()
  const server = await spawn(deploymentFlags(prefix, 'inventory'))
  await server.ready()
  const bus = [`--brokers=${testBrokers.join(',')}`, `--topic-prefix=${prefix}`, '--log-level=silent']

  const set = shop('stock', 'set', 'SKU-CLI', '7', ...bus)
  expect(set).toMatchObject({ code: 0, stdout: '{"sku":"SKU-CLI","available":7,"status":"accepted"}\n' })
  await eventually(() => expect(shop('stock', 'get', 'SKU-CLI', ...bus)).toMatchObject({ code: 0, stdout: '{"sku":"SKU-CLI","available":7,"reserved":0}\n' }), 10_000, 200)

  expect(shop('stock', 'get', 'SKU-NONE', ...bus)).toMatchObject({ code: 1, stderr: 'shop: no stock recorded for SKU SKU-NONE\n' })
  expect(shop('stock', 'set', 'SKU-CLI', 'many', ...bus)).toMatchObject({ code: 2, stderr: 'shop: QUANTITY must be an integer >= 0; got "many"\n' })
  expect(shop('stock', 'set', 'SKU-CLI', '-1', ...bus)).toMatchObject({ code: 2, stderr: expect.stringContaining("Unknown option '-1'") })
  expect(shop('stock', 'set', 'bad sku', '1', ...bus).code).toBe(2)
  expect(shop('stock', 'get', 'SKU-CLI').stderr).toContain('needs a Kafka bus')
  expect(shop('stock', 'fly', ...bus)).toMatchObject({ code: 2, stderr: expect.stringContaining('usage: shop stock set SKU QUANTITY') })
}, 60_000)
