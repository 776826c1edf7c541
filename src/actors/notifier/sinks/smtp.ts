import { createHash } from 'node:crypto'
import nodemailer from 'nodemailer'
import { DeliveryError } from '../../../errors.ts'
import { type RetryPolicy, withRetries } from '../../../outbound/post-json.ts'
import type { Notification, Sink } from './types.ts'

export interface SmtpOptions extends RetryPolicy {
  host: string
  port: number
  /** `implicit`: TLS from the first byte (port 465); `starttls`: upgrade required; `none`: plain text (a local relay). */
  tls: 'implicit' | 'starttls' | 'none'
  user: string
  password: string
  from: string
  /** The recipient: `{userId}` is replaced with the order's user (which may itself be the address). */
  to: string
  timeoutMs: number
}

/** What the customer reads in the subject line, by status. */
const subjects: Record<string, string> = {
  reserved: 'confirmed',
  out_of_stock: 'out of stock',
  payment_failed: 'payment failed',
  shipped: 'shipped',
  cancelled: 'cancelled',
}

const address = /^[^\s@<>",;]+@[^\s@<>",;]+\.[^\s@<>",;]+$/

/**
 * E-mails each notification as plain text through an SMTP server (nodemailer, pooled
 * connections). Connection failures, timeouts and 4xx replies are retried with backoff; a 5xx
 * reply (an unknown mailbox, a refused sender) is final. The Message-ID is derived from the
 * notification id, so a repeated delivery is the same message to mail systems that dedupe.
 */
export function smtpSink(options: SmtpOptions): Sink {
  const transport = nodemailer.createTransport({
    host: options.host,
    port: options.port,
    secure: options.tls === 'implicit',
    requireTLS: options.tls === 'starttls',
    ignoreTLS: options.tls === 'none',
    auth: options.user ? { user: options.user, pass: options.password } : undefined,
    pool: true,
    maxConnections: 4,
    connectionTimeout: options.timeoutMs,
    greetingTimeout: options.timeoutMs,
    socketTimeout: options.timeoutMs,
  })
  const server = `smtp ${options.host}:${options.port}`
  return {
    name: 'smtp',
    async send(n: Notification) {
      const to = options.to.replaceAll('{userId}', n.userId)
      if (!address.test(to)) throw new DeliveryError(`${server}: no e-mail address for user ${JSON.stringify(n.userId)} (--smtp-to gives ${JSON.stringify(to)})`)
      const mail = {
        from: options.from,
        to,
        subject: `Order ${n.orderId}: ${subjects[n.status] ?? n.status.replaceAll('_', ' ')}`,
        text: `${n.message}\n\nOrder ${n.orderId}\n`,
        messageId: `<${createHash('sha256').update(n.id).digest('hex').slice(0, 32)}@shop.notifications>`,
        headers: { 'X-Shop-Notification-Id': n.id },
      }
      await withRetries(`${server} to ${to}`, options, () =>
        transport.sendMail(mail).catch((error: { responseCode?: number; code?: string; message: string }) => {
          // An SMTP reply in the 4xx range says "try again later"; no reply at all (a network
          // error, a timeout) may be cured by a retry too. A 5xx reply is the server's final word.
          const retryable = error.responseCode === undefined ? error.code !== 'EAUTH' : error.responseCode < 500
          throw new DeliveryError(`${server}: ${error.responseCode ?? error.code ?? 'error'} ${error.message}`, { retryable, cause: error })
        }),
      )
    },
    async close() {
      transport.close()
    },
  }
}
