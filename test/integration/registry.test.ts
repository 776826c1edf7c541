import { describe, expect, test } from 'bun:test'
import { JsonDeserializer, JsonSerializer, SchemaRegistryClient, SerdeType } from '@confluentinc/schemaregistry'
import { Type } from '@sinclair/typebox'
import { events } from '../../schemas/events.ts'
import { OrderCreatedV2 } from '../../schemas/order.ts'
import { encodeEvent, jsonOf } from '../../src/events/envelope.ts'
import { readTopic } from '../../src/kafka/read-to-end.ts'
import { HttpSchemaRegistry } from '../../src/registry/http-client.ts'
import { subjectOf } from '../../src/registry/json-schema.ts'
import { EventSerde } from '../../src/registry/serde.ts'
import { IncompatibleSchemaError } from '../../src/registry/types.ts'
import { eventually } from '../harness/eventually.ts'
import { shopsPerTest } from '../pipeline/cases.ts'
import { kafka } from './broker.ts'

describe('schema registry on the real broker', () => {
  const start = shopsPerTest(kafka)
  const wait = (check: () => unknown) => eventually(check, kafka.patienceMs)

  test("Confluent's own client registers and reads through shop's registry, reads what shop wrote, and writes an order shop processes", async () => {
    const s = await start()
    const url = `${s.shop.url}/registry`
    const client = new SchemaRegistryClient({ baseURLs: [url] })
    const subject = subjectOf(s.topics.ordersCreated)
    // shop registered both versions of its order event at start, in order.
    expect(await client.getAllVersions(subject)).toEqual([1, 2])
    const latest = await client.getLatestSchemaMetadata(subject)
    expect(JSON.parse(latest.schema!).title).toBe('shop.order.created v2')

    // A schema of the client's own, registered and read back by id.
    const mine = { type: 'object', properties: { note: { type: 'string' } }, additionalProperties: false }
    const id = await client.register('elsewhere-value', { schemaType: 'JSON', schema: JSON.stringify(mine) })
    expect(JSON.parse((await client.getBySubjectAndId('elsewhere-value', id)).schema)).toEqual(mine)
    expect(await client.register('elsewhere-value', { schemaType: 'JSON', schema: JSON.stringify(mine) })).toBe(id)

    // The client deserializes an order that shop's api wrote.
    expect((await s.call('PUT', '/stock/SKU-R', { quantity: 10 })).status).toBe(202)
    await wait(async () => expect((await s.call('GET', '/stock/SKU-R')).body.available).toBe(10))
    const placed = await s.call('POST', '/orders', { userId: 'reg', items: [{ sku: 'SKU-R', quantity: 1, unitPrice: 3 }], total: 3, currency: 'GBP' })
    expect(placed.status).toBe(202)
    const [written] = await readTopic(s.log, s.topics.ordersCreated)
    const deserializer = new JsonDeserializer(client, SerdeType.VALUE, { validate: true })
    expect(await deserializer.deserialize(s.topics.ordersCreated, written.value!)).toMatchObject({ orderId: placed.body.orderId, userId: 'reg', currency: 'GBP', total: 3 })

    // The client serializes an order under the latest registered schema; shop reads and processes it.
    const serializer = new JsonSerializer(client, SerdeType.VALUE, { useLatestVersion: true, autoRegisterSchemas: false, validate: true })
    const order = { orderId: 'from-confluent-client', userId: 'reg', items: [{ sku: 'SKU-R', quantity: 2, unitPrice: 1.5 }], total: 3, currency: 'USD', createdAt: new Date().toISOString() }
    const value = await serializer.serialize(s.topics.ordersCreated, order)
    expect(value.readUInt32BE(1)).toBe(latest.id!)
    const { headers } = encodeEvent(events.orderCreated, order, 'confluent-client')
    await s.log.producer().send([{ topic: s.topics.ordersCreated, key: 'reg', value, headers }])
    await wait(async () => expect((await readTopic(s.log, s.topics.reserved)).map((r) => JSON.parse(jsonOf(r.value!)).orderId).sort()).toEqual(['from-confluent-client', placed.body.orderId].sort()))
    expect(await readTopic(s.log, s.topics.deadLetter)).toEqual([])
  })

  test('an incompatible version (a required field removed) is refused at start, naming the subject and the field', async () => {
    const s = await start()
    const registry = new HttpSchemaRegistry(`${s.shop.url}/registry`)
    const { total: _, ...rest } = OrderCreatedV2.properties
    const v3 = { ...events.orderCreated, version: 3, schema: Type.Object(rest, { additionalProperties: false }), older: { ...events.orderCreated.older, 2: { schema: OrderCreatedV2, upgrade: (p: object) => p } } }
    const refused = new EventSerde(registry).register([[s.topics.ordersCreated, v3]])
    await expect(refused).rejects.toBeInstanceOf(IncompatibleSchemaError)
    await expect(refused).rejects.toThrow(new RegExp(`subject ${subjectOf(s.topics.ordersCreated).replaceAll('.', '\\.')} .*/total: property removed \\(required\\)`))
    // Nothing was registered: the subject still ends at version 2.
    const client = new SchemaRegistryClient({ baseURLs: [`${s.shop.url}/registry`] })
    expect(await client.getAllVersions(subjectOf(s.topics.ordersCreated))).toEqual([1, 2])
  })

  test('a record under a schema id the registry does not know goes to shop.dlq with the reason; the partition moves on', async () => {
    const s = await start()
    const order = { orderId: 'unknown-id', userId: 'dee', items: [{ sku: 'SKU-U', quantity: 1, unitPrice: 1 }], total: 1, currency: 'EUR', createdAt: new Date().toISOString() }
    const { value: json, headers } = encodeEvent(events.orderCreated, order, 'test')
    const value = Buffer.concat([Buffer.from([0, 0, 0, 0x7f, 0xff]), Buffer.from(json)])
    await s.log.producer().send([{ topic: s.topics.ordersCreated, key: 'dee', value, headers }])
    await wait(async () => expect((await readTopic(s.log, s.topics.deadLetter)).length).toBe(2))
    const dead = await readTopic(s.log, s.topics.deadLetter)
    expect(dead.map((d) => d.headers['shop.dlq.group']).sort()).toEqual([`${s.prefix}shop-aggregator`, `${s.prefix}shop-order`])
    for (const d of dead) {
      expect(d.headers['shop.dlq.error']).toContain('schema id 32767 is unknown to the schema registry')
      expect(Buffer.compare(d.value!, value)).toBe(0)
    }
  })
})
