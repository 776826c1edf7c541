import type { Config } from '../config/options.ts'
import { topicNames } from '../topology.ts'

/** One ACL binding a shop deployment needs, in Kafka's terms (`kafka-acls.sh` takes them as they are). */
export interface AclBinding {
  resourceType: 'topic' | 'group' | 'transactional-id'
  patternType: 'literal' | 'prefixed'
  names: string[]
  operations: string[]
}

/**
 * What a shop deployment's principal must be allowed on a cluster with an authorizer: every topic of
 * the topology by name (every process creates them at start, reads and writes them); the consumer
 * groups and transactional ids by their prefix, `<topic prefix>shop-` (transactional ids are
 * `<group>-<partition>` and the api's `<group>-<uuid>`). Nothing on the cluster resource:
 * idempotent producers need only Write on a topic (Kafka 3.0+). One set for every role: roles
 * share a principal (README, ACLs).
 */
export function requiredAcls(config: Pick<Config, 'topicPrefix'>): AclBinding[] {
  const namespace = `${config.topicPrefix}shop-`
  return [
    { resourceType: 'topic', patternType: 'literal', names: Object.values(topicNames(config.topicPrefix)), operations: ['Create', 'Describe', 'Read', 'Write'] },
    { resourceType: 'group', patternType: 'prefixed', names: [namespace], operations: ['Describe', 'Read'] },
    { resourceType: 'transactional-id', patternType: 'prefixed', names: [namespace], operations: ['Describe', 'Write'] },
  ]
}

/** The arguments of `kafka-acls.sh --bootstrap-server ...` that add `binding` for `principal`. */
export function kafkaAclsArguments(principal: string, binding: AclBinding): string[] {
  return [
    '--add',
    '--allow-principal',
    principal,
    ...binding.operations.flatMap((operation) => ['--operation', operation]),
    ...binding.names.flatMap((name) => [`--${binding.resourceType}`, name]),
    '--resource-pattern-type',
    binding.patternType,
  ]
}
