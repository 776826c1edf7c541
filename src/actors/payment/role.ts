import type { Config } from '../../config/options.ts'
import type { RoleFactory } from '../runtime/role.ts'
import { transactionalRole } from '../runtime/transactional/role.ts'
import { paymentHandler } from './handler.ts'
import { httpProvider } from './providers/http.ts'
import { PaymentSimulator } from './providers/simulator.ts'
import type { PaymentProvider } from './providers/types.ts'

/** `--roles=payment`: a payment dispatcher per partition of payment.requests, calling `--payment-provider`. */
export const paymentRole: RoleFactory = (ctx) =>
  transactionalRole(ctx, 'payment', paymentHandler(ctx.topics, paymentProvider(ctx.config), { attempts: ctx.config.paymentAttempts, backoffMs: ctx.config.paymentBackoffMs, onRetry: () => ctx.metrics.paymentRetries.inc() }, 'shop/payment', ctx.metrics))

export function paymentProvider(config: Config): PaymentProvider {
  if (config.paymentProvider === 'http') return httpProvider({ url: config.paymentUrl, timeoutMs: config.paymentTimeoutMs })
  return new PaymentSimulator({ limit: config.paymentLimit, failureRate: config.paymentSimulatorFailureRate, seed: config.paymentSimulatorSeed })
}
