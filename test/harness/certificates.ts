import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

export interface Certificates {
  dir: string
  /** The CA that signed the broker's and the client's certificates. */
  ca: string
  /** The broker's PKCS#8 key followed by its certificate (for 127.0.0.1 and localhost): scripts/kafka.sh's broker.pem. */
  broker: string
  clientCert: string
  clientKey: string
  /** A CA that signed nothing here: a client trusting only it must refuse the broker. */
  otherCa: string
}

/** A throwaway CA with a broker and a client certificate, made with openssl in a new temporary directory. */
export function makeCertificates(): Certificates {
  const dir = mkdtempSync(join(tmpdir(), 'shop-tls-'))
  const at = (name: string) => join(dir, name)
  const openssl = (...args: string[]) => {
    const run = Bun.spawnSync(['openssl', ...args], { cwd: dir, stderr: 'pipe', stdout: 'pipe' })
    if (run.exitCode !== 0) throw new Error(`openssl ${args.join(' ')} failed: ${run.stderr.toString()}`)
  }
  const selfSigned = (name: string, subject: string) => openssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.pem`, '-days', '2', '-subj', subject)
  const signed = (name: string, subject: string, extensions: string) => {
    openssl('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', subject)
    writeFileSync(at(`${name}.ext`), `${extensions}\n`)
    openssl('x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', `${name}.crt`, '-days', '2', '-extfile', `${name}.ext`)
  }
  selfSigned('ca', '/CN=shop test CA')
  selfSigned('other-ca', '/CN=another CA')
  signed('broker', '/CN=127.0.0.1', 'subjectAltName=IP:127.0.0.1,DNS:localhost')
  signed('client', '/CN=shop', 'extendedKeyUsage=clientAuth')
  // Kafka's PEM key store takes an unencrypted key only in PKCS#8.
  openssl('pkcs8', '-topk8', '-nocrypt', '-in', 'broker.key', '-out', 'broker.p8')
  writeFileSync(at('broker.pem'), readFileSync(at('broker.p8'), 'utf8') + readFileSync(at('broker.crt'), 'utf8'))
  return { dir, ca: at('ca.pem'), broker: at('broker.pem'), clientCert: at('client.crt'), clientKey: at('client.key'), otherCa: at('other-ca.pem') }
}
