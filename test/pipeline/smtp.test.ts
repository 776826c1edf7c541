import { afterAll, afterEach, beforeAll, expect, test } from 'bun:test'
import { jsonOf } from '../../src/events/envelope.ts'
import { SMTPServer } from 'smtp-server'
import { MemoryLog } from '../../src/kafka/memory/index.ts'
import { readTopic } from '../../src/kafka/read-to-end.ts'
import { eventually } from '../harness/eventually.ts'
import { startShop } from './cases.ts'

/**
 * A real SMTP server (smtp-server, the server half of nodemailer's project) on 127.0.0.1: it
 * requires a login, answers each RCPT with the next planned reply code (250 once the plan is used
 * up) and keeps every message it accepted, raw.
 */
interface Mail {
  from: string
  to: string[]
  raw: string
}
const mails: Mail[] = []
const rcptAttempts: string[] = []
let plan: number[] = []
const server = new SMTPServer({
  authMethods: ['PLAIN', 'LOGIN'],
  allowInsecureAuth: true,
  disabledCommands: ['STARTTLS'],
  logger: false,
  onAuth(auth, _session, callback) {
    if (auth.username === 'shop' && auth.password === 'mail-secret') callback(null, { user: 'shop' })
    else callback(Object.assign(new Error('Invalid username or password'), { responseCode: 535 }))
  },
  onRcptTo(address, _session, callback) {
    rcptAttempts.push(address.address)
    const code = plan.shift() ?? 250
    if (code === 250) callback()
    else callback(Object.assign(new Error(code === 451 ? 'Try again later' : 'No such mailbox'), { responseCode: code }))
  },
  onData(stream, session, callback) {
    let raw = ''
    stream.setEncoding('utf8')
    stream.on('data', (chunk: string) => (raw += chunk))
    stream.on('end', () => {
      mails.push({ from: (session.envelope.mailFrom as { address: string }).address, to: session.envelope.rcptTo.map((r) => r.address), raw })
      callback()
    })
  },
})
let port = 0
beforeAll(async () => {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()))
  port = (server.server.address() as { port: number }).port
})
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())))

const running: Array<Awaited<ReturnType<typeof startShop>>> = []
afterEach(async () => {
  for (const s of running.splice(0)) await s.shop.stop()
  mails.length = 0
  rcptAttempts.length = 0
  plan = []
})

async function shopWithSmtp(extra: string[] = []) {
  const s = await startShop({ name: 'memory', busFlags: [], createLog: () => new MemoryLog(), patienceMs: 5_000 }, [
    '--roles=api,order,inventory,notifier',
    '--notify=console,smtp',
    '--smtp-host=127.0.0.1',
    `--smtp-port=${port}`,
    '--smtp-tls=none',
    '--smtp-user=shop',
    '--smtp-password=mail-secret',
    '--smtp-from=orders@shop.example',
    '--smtp-to={userId}@customers.example',
    '--smtp-attempts=3',
    '--smtp-backoff-ms=20',
    ...extra,
  ])
  running.push(s)
  expect((await s.call('PUT', '/stock/SKU-M', { quantity: 5 })).status).toBe(202)
  await eventually(async () => expect((await s.call('GET', '/stock/SKU-M')).status).toBe(200), 5_000)
  return s
}

/** A header of a raw message (unfolded). */
const header = (raw: string, name: string) => raw.replace(/\r\n[ \t]+/g, ' ').match(new RegExp(`^${name}: (.*)$`, 'mi'))?.[1]

test('each notification is one mail: logged in, from the configured sender, to the user\'s address, with the status in the subject and the message in the body', async () => {
  const s = await shopWithSmtp()
  const confirmed = await s.call('POST', '/orders', { userId: 'mia', items: [{ sku: 'SKU-M', quantity: 2, unitPrice: 4 }], total: 8 })
  const short = await s.call('POST', '/orders', { userId: 'mia', items: [{ sku: 'SKU-M', quantity: 9, unitPrice: 1 }], total: 9 })
  await eventually(() => expect(mails).toHaveLength(2), 5_000)
  const byOrder = (orderId: string) => mails.find((m) => header(m.raw, 'X-Shop-Notification-Id')?.startsWith(orderId))!
  const first = byOrder(confirmed.body.orderId)
  expect([first.from, first.to]).toEqual(['orders@shop.example', ['mia@customers.example']])
  expect(header(first.raw, 'Subject')).toBe(`Order ${confirmed.body.orderId}: confirmed`)
  expect(header(first.raw, 'X-Shop-Notification-Id')).toBe(`${confirmed.body.orderId}/reserved`)
  expect(header(first.raw, 'Message-ID')).toMatch(/^<[0-9a-f]{32}@shop\.notifications>$/)
  expect(first.raw).toContain('Order confirmed: every item is reserved; payment is next.')
  const second = byOrder(short.body.orderId)
  expect(header(second.raw, 'Subject')).toBe(`Order ${short.body.orderId}: out of stock`)
  expect(second.raw).toContain('Out of stock: SKU-M (requested 9, available 3).')
  // The console sink told both too; nothing went to the dead-letter topic.
  expect(s.notifications.map((n) => n.status).sort()).toEqual(['out_of_stock', 'reserved'])
  expect(await readTopic(s.log, s.topics.deadLetter)).toEqual([])
})

test('a 451 (try again later) is retried and the mail is delivered once', async () => {
  const s = await shopWithSmtp()
  plan = [451, 451]
  await s.call('POST', '/orders', { userId: 'mia', items: [{ sku: 'SKU-M', quantity: 1, unitPrice: 1 }], total: 1 })
  await eventually(() => expect(mails).toHaveLength(1), 5_000)
  expect(rcptAttempts).toEqual(['mia@customers.example', 'mia@customers.example', 'mia@customers.example'])
  expect(await readTopic(s.log, s.topics.deadLetter)).toEqual([])
})

test('a 550 (no such mailbox) is final: no retry, the request goes to shop.dlq with the reply', async () => {
  const s = await shopWithSmtp()
  plan = [550]
  const placed = await s.call('POST', '/orders', { userId: 'mia', items: [{ sku: 'SKU-M', quantity: 1, unitPrice: 1 }], total: 1 })
  const dead = await eventually(async () => {
    const records = await readTopic(s.log, s.topics.deadLetter)
    expect(records).toHaveLength(1)
    return records
  }, 5_000)
  expect(rcptAttempts).toEqual(['mia@customers.example'])
  expect(mails).toEqual([])
  expect(JSON.parse(jsonOf(dead[0].value!))).toMatchObject({ orderId: placed.body.orderId, sink: 'smtp' })
  expect(dead[0].headers['shop.dlq.error']).toContain('550')
})

test('wrong credentials are final: the mail goes to shop.dlq naming the refused login', async () => {
  const s = await shopWithSmtp(['--smtp-password=wrong'])
  await s.call('POST', '/orders', { userId: 'mia', items: [{ sku: 'SKU-M', quantity: 1, unitPrice: 1 }], total: 1 })
  const dead = await eventually(async () => {
    const records = await readTopic(s.log, s.topics.deadLetter)
    expect(records).toHaveLength(1)
    return records
  }, 5_000)
  expect(dead[0].headers['shop.dlq.error']).toContain('535')
  expect(rcptAttempts).toEqual([])
})
