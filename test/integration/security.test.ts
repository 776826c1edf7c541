import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { KafkaLog } from '../../src/kafka/platformatic/index.ts'
import { type Certificates, makeCertificates } from '../harness/certificates.ts'
import { ShopProcess, repo } from '../harness/shop-process.ts'
import { checkInvariants } from './checker.ts'
import { placeOrders, setStock } from './load.ts'
import { newPrefix } from './shop-process.ts'

/**
 * A broker of its own (scripts/kafka.sh with KAFKA_TLS_DIR): SCRAM and PLAIN users are written when
 * its storage is formatted, and its SASL_SSL listener requires client certificates. shop talks to
 * it only there; the checker reads the topics on the broker's plaintext port.
 */
const port = Number(process.env.SHOP_TEST_SECURE_KAFKA_PORT ?? 19292)
const secure = `127.0.0.1:${port + 2}`
const password = 'scram-secret-3c9f0b'
const plainPassword = 'plain-secret-71d2aa'
/** A user the broker knows and no ACL mentions. */
const strangerPassword = 'stranger-secret-5e0c14'
let certs: Certificates
let brokerEnv: Record<string, string>

const kafkaSh = async (...action: string[]) => {
  const run = Bun.spawn(['bash', 'scripts/kafka.sh', ...action], { cwd: repo, env: { ...process.env, ...brokerEnv }, stdout: 'pipe', stderr: 'pipe' })
  if ((await run.exited) !== 0) throw new Error(`kafka.sh ${action.join(' ')} failed: ${await new Response(run.stderr).text()}`)
}

/** Adds the ACLs `shop acls` prints for `principal` and a deployment's prefix, with Kafka's own AclCommand. */
async function grantAcls(principal: string, prefix: string) {
  const acls = Bun.spawnSync([process.execPath, join(repo, 'src/main.ts'), 'acls', principal, `--topic-prefix=${prefix}`], { cwd: repo, stdout: 'pipe', stderr: 'pipe' })
  expect(acls.exitCode).toBe(0)
  for (const line of JSON.parse(acls.stdout.toString()).kafkaAcls as string[]) {
    await kafkaSh('class', 'org.apache.kafka.tools.AclCommand', '--bootstrap-server', `127.0.0.1:${port}`, ...line.split(' '))
  }
}

beforeAll(async () => {
  certs = makeCertificates()
  brokerEnv = {
    KAFKA_PORT: String(port),
    KAFKA_HEAP: '512m',
    KAFKA_TLS_DIR: certs.dir,
    KAFKA_SASL_USERS: `shop:${password},shop-plain:${plainPassword},stranger:${strangerPassword}`,
    KAFKA_TLS_CLIENT_AUTH: 'required',
    KAFKA_AUTHORIZER: '1',
  }
  await kafkaSh('reset')
  await kafkaSh('up')
}, 120_000)
afterAll(() => kafkaSh('reset'), 60_000)

/** A shop process's flags and environment on the SASL_SSL listener; `override` replaces any of them. */
function secured(prefix: string, roles: string, override: Record<string, string> = {}) {
  const env: Record<string, string> = {
    SHOP_BROKERS: secure,
    SHOP_KAFKA_SECURITY_PROTOCOL: 'SASL_SSL',
    SHOP_KAFKA_TLS_CA: certs.ca,
    SHOP_KAFKA_TLS_CERT: certs.clientCert,
    SHOP_KAFKA_TLS_KEY: certs.clientKey,
    SHOP_KAFKA_SASL_MECHANISM: 'SCRAM-SHA-512',
    SHOP_KAFKA_SASL_USERNAME: 'shop',
    SHOP_KAFKA_SASL_PASSWORD: password,
    ...override,
  }
  const args = [`--topic-prefix=${prefix}`, `--roles=${roles}`, '--http-port=0', '--session-timeout-ms=4000', `--data-dir=${mkdtempSync(join(tmpdir(), 'shop-state-'))}`, '--log-level=debug']
  return { args, env: { ...process.env, ...env } }
}

/** Runs a process that must fail to start: its exit code and stderr, or a failure after `ms`. */
async function failedStart(prefix: string, override: Record<string, string>, ms = 45_000) {
  const { args, env } = secured(prefix, 'api,order', override)
  const proc = Bun.spawn([process.execPath, join(repo, 'src/main.ts'), ...args], { cwd: repo, env, stdout: 'ignore', stderr: 'pipe' })
  const timer = setTimeout(() => proc.kill('SIGKILL'), ms)
  const [code, stderr] = await Promise.all([proc.exited, new Response(proc.stderr).text()])
  clearTimeout(timer)
  return { code, stderr, lastLine: stderr.trim().split('\n').at(-1) ?? '' }
}

describe('broker connections over SASL_SSL, with ACLs on', () => {
  test('SCRAM-SHA-512 and PLAIN with client certificates, each principal with only the ACLs `shop acls` lists: 400 orders through two processes, each decided once, no SKU oversold; no secret in any log', async () => {
    const prefix = newPrefix()
    await grantAcls('User:shop', prefix)
    await grantAcls('User:shop-plain', prefix)
    const scram = secured(prefix, 'api,order,inventory,notifier')
    const plain = secured(prefix, 'order,inventory', { SHOP_KAFKA_SASL_MECHANISM: 'PLAIN', SHOP_KAFKA_SASL_USERNAME: 'shop-plain', SHOP_KAFKA_SASL_PASSWORD: plainPassword })
    const first = await ShopProcess.spawn(scram.args, { env: scram.env })
    const second = await ShopProcess.spawn(plain.args, { env: plain.env })
    const log = new KafkaLog({ brokers: [`127.0.0.1:${port}`] })
    try {
      await Promise.all([first.ready(), second.ready()])
      const stock = { 'SKU-1': 80, 'SKU-2': 60, 'SKU-3': 40 }
      await setStock(first.url, stock)
      const load = await placeOrders(() => first.url, { orders: 400, users: 60, skus: Object.keys(stock), concurrency: 16 })
      expect([load.refused, load.unknown, load.unexpected]).toEqual([[], [], []])
      expect(load.accepted).toHaveLength(400)
      const report = await checkInvariants(log, { prefix, load, notifications: () => first.notifications() })
      expect(report.problems).toEqual([])
      expect(report.orders).toBe(400)
      expect(report.confirmed).toBeGreaterThan(0)
      expect(report.failed).toBeGreaterThan(0)
      // Both members worked: each restored some inventory partitions through the secured listener.
      const owned = (p: ShopProcess) => p.stderr.filter((l) => l.includes('actor:store:restored') && l.includes(`${prefix}shop-inventory`)).length
      expect(owned(first)).toBeGreaterThan(0)
      expect(owned(second)).toBeGreaterThan(0)
      first.kill('SIGTERM')
      second.kill('SIGTERM')
      expect(await Promise.all([first.exited, second.exited])).toEqual([0, 0])
      for (const line of [...first.stderr, ...second.stderr, ...first.stdout]) {
        expect(line).not.toContain(password)
        expect(line).not.toContain(plainPassword)
      }
    } finally {
      first.kill('SIGKILL')
      second.kill('SIGKILL')
      await log.close()
    }
  }, 240_000)

  const refused: Array<[string, Record<string, string>, RegExp]> = [
    ['a wrong password', { SHOP_KAFKA_SASL_PASSWORD: 'not-the-password' }, /SASL_AUTHENTICATION_FAILED \(the broker refused the SASL login: check --kafka-sasl-mechanism, --kafka-sasl-username and --kafka-sasl-password\)/],
    ['an unknown user', { SHOP_KAFKA_SASL_USERNAME: 'mallory' }, /SASL_AUTHENTICATION_FAILED/],
    ['a CA that did not sign the broker', { SHOP_KAFKA_TLS_CA: '' }, /the broker's TLS certificate was not trusted: check --kafka-tls-ca/],
    ['a principal no ACL mentions', { SHOP_KAFKA_SASL_USERNAME: 'stranger', SHOP_KAFKA_SASL_PASSWORD: strangerPassword }, /AUTHORIZATION_FAILED \(the broker's ACLs do not allow this principal what shop needs: `shop acls User:<name>` lists it \(README, ACLs\)\)/],
  ]
  test.each(refused)('%s: the start fails at once with a clear message and exit 1, the secret unprinted', async (_what, override, message) => {
    const { code, stderr, lastLine } = await failedStart(newPrefix(), { ...override, ...(override.SHOP_KAFKA_TLS_CA === '' ? { SHOP_KAFKA_TLS_CA: certs.otherCa } : {}) })
    expect(code).toBe(1)
    expect(lastLine).toStartWith('shop: start failed: ')
    expect(lastLine).toMatch(message)
    expect(stderr).not.toContain(password)
    expect(stderr).not.toContain('not-the-password')
  }, 60_000)

  test('settings that contradict the protocol are refused before anything starts (exit 2)', async () => {
    const { code, lastLine } = await failedStart(newPrefix(), { SHOP_KAFKA_SECURITY_PROTOCOL: 'PLAINTEXT' })
    expect(code).toBe(2)
    expect(lastLine).toMatch(/Run 'shop --help'/)
    const missing = await failedStart(newPrefix(), { SHOP_KAFKA_SASL_PASSWORD: '' })
    expect(missing.code).toBe(2)
    expect(missing.stderr).toContain('--kafka-sasl-password (SHOP_KAFKA_SASL_PASSWORD): required with --kafka-security-protocol=SASL_SSL')
  })
})
