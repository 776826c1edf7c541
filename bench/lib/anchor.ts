import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { repo } from '../../test/harness/shop-process.ts'
import { run } from './environment.ts'
import { topicNames } from '../../src/topology.ts'

const project = join(repo, 'bench/anchors/kafka-streams')

/**
 * Builds the Kafka Streams anchor (bench/anchors/kafka-streams: Maven fetches kafka-streams and its
 * dependencies from Maven Central once) and returns its classpath.
 */
export function buildAnchor(): string {
  const lib = join(project, 'target/lib')
  run(['mvn', '-q', '-B', '-f', join(project, 'pom.xml'), 'compile', 'dependency:copy-dependencies', '-DincludeScope=runtime', `-DoutputDirectory=${lib}`])
  return `${join(project, 'target/classes')}:${lib}/*`
}

/** The anchor's topics under `namespace`, beside the orders topic it reads: shop's names (OrderStream.java's header). */
export const anchorTopics = (namespace: string) => {
  const { inventoryRequests, lineResults, reserved, failed, orderStatus, paymentRequests } = topicNames(namespace)
  return { inventoryRequests, lineResults, reserved, failed, orderStatus, paymentRequests }
}

/** A running anchor: its process, and its log (stdout and stderr) in a file. */
export interface Anchor {
  proc: Bun.Subprocess
  logFile: string
}

/** Starts the anchor on `ordersTopic` with `threads` stream threads, in a fresh state directory. */
export function startAnchor(classpath: string, brokers: string[], ordersTopic: string, namespace: string, threads: number): Anchor {
  const dir = mkdtempSync(join(tmpdir(), 'shop-bench-anchor-'))
  const logFile = join(dir, 'anchor.log')
  const output = Bun.file(logFile)
  const args = [brokers.join(','), ordersTopic, namespace, String(threads), join(dir, 'state')]
  const proc = Bun.spawn(['java', '-Dorg.slf4j.simpleLogger.defaultLogLevel=warn', '-cp', classpath, 'shop.anchor.OrderStream', ...args], { stdin: 'ignore', stdout: output, stderr: output })
  return { proc, logFile }
}
