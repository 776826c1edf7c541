/**
 * Run by validators.test.ts in a process of its own, so that the Kafka client's modules are
 * imported after ajv's `compile` is counted: prints how many validators importing the client
 * compiled, and how many once a group consumer was made.
 */
import { Ajv2020 } from 'ajv/dist/2020.js'

// `compile` is ajv's core class's (Ajv2020, the client's, extends it): a named import, which Bun
// and Deno read alike from the CommonJS module.
const core = Object.getPrototypeOf(Ajv2020.prototype) as { compile: (...args: unknown[]) => unknown }
let compiled = 0
const compile = core.compile
core.compile = function (this: unknown, ...args: unknown[]) {
  compiled++
  return compile.apply(this, args)
}
const { Consumer } = await import('@platformatic/kafka')
const atImport = compiled
await new Consumer({ clientId: 'validators', bootstrapBrokers: ['127.0.0.1:1'], groupId: 'g' }).close()
console.log(JSON.stringify({ atImport, afterConsumer: compiled }))
