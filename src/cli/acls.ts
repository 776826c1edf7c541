import type { Config } from '../config/options.ts'
import { ConfigError } from '../errors.ts'
import { kafkaAclsArguments, requiredAcls } from '../kafka/acls.ts'

export const aclsUsage = 'shop acls User:<name>   (the Kafka ACLs this deployment\'s principal needs, for --topic-prefix)'

/**
 * `shop acls User:<name>`: the ACL bindings a deployment (its --topic-prefix) needs on a cluster
 * with an authorizer, and the `kafka-acls.sh` arguments that add each, e.g.
 * `shop acls User:shop | jq -r '.kafkaAcls[]' | xargs -L1 kafka-acls.sh --bootstrap-server ...`.
 * Reads no broker.
 */
export async function aclsCommand(args: string[], config: Config): Promise<string> {
  const [principal, ...rest] = args
  if (!principal || !/^[A-Za-z]+:.+$/.test(principal) || rest.length > 0) throw new ConfigError(`usage: ${aclsUsage}`)
  const bindings = requiredAcls(config)
  return JSON.stringify({ principal, bindings, kafkaAcls: bindings.map((b) => kafkaAclsArguments(principal, b).join(' ')) })
}
