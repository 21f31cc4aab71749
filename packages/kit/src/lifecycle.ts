import closeWithGrace from 'close-with-grace'
import type { FastifyInstance, FastifyPluginAsync } from 'fastify'
import type { Logger } from 'pino'
import { createApp, trustProxyFrom } from './app.js'
import { ConfigError } from './config.js'
import { registerHealth, type Health, type ReadinessCheck } from './health.js'
import { metricsRoutes } from './metrics.js'

export interface Lifecycle {
  log: Logger
  /** Stops taking work, waits for work in flight, closes connections. */
  close: () => Promise<void>
  /** Longest a shutdown may take before the process exits anyway. */
  graceMs?: number
  /** Readiness to turn false first, so load balancers stop sending new work. */
  health?: Health
  /**
   * How long the process still takes requests after readiness turned false,
   * before it closes: the time a load balancer needs to notice (a few seconds
   * on Kubernetes). Counts against `graceMs`.
   */
  drainDelayMs?: number
}

/**
 * Closes the service on SIGTERM or SIGINT (and on an uncaught error), and
 * exits: 0 after a clean close, 1 after a failure or when the grace period
 * runs out.
 */
export function closeOnSignals (lifecycle: Lifecycle): void {
  closeWithGrace({ delay: lifecycle.graceMs ?? 10_000 }, async ({ signal, err }) => {
    if (err) lifecycle.log.fatal({ err }, 'shutting down after an error')
    else lifecycle.log.info({ signal }, 'shutting down')

    lifecycle.health?.markShuttingDown()
    const delay = err ? 0 : lifecycle.drainDelayMs ?? 0
    if (delay > 0) await new Promise((resolve) => setTimeout(resolve, delay))
    await lifecycle.close()
    lifecycle.log.info('stopped')
  })
}

/** A service assembled without listening: public routes, and an internal API on its own app. */
export interface AssembledService {
  publicRoutes: FastifyPluginAsync
  internalApp: FastifyInstance
  /** Starts the work no request drives: event consumers, the outbox relay. */
  start: () => Promise<void>
  close: () => Promise<void>
}

/** Where a service listens and how long it drains, from its config. */
export interface ListenSettings {
  HOST: string
  PORT: number
  INTERNAL_HOST: string
  INTERNAL_PORT: number
  SHUTDOWN_DELAY_SECONDS: number
  /** Proxies allowed to set X-Forwarded-For (see trustProxyFrom). */
  TRUST_PROXY?: string | undefined
}

/**
 * Runs a service as its own process: its public routes with health and
 * metrics on the public port, its internal API on the internal port. On
 * SIGTERM readiness turns false, the drain delay passes, then the public app
 * and the service close.
 */
export async function serveService (
  service: AssembledService,
  config: ListenSettings,
  log: Logger,
  checks: ReadinessCheck[]
): Promise<void> {
  const app = createApp({ logger: log, trustProxy: trustProxyFrom(config.TRUST_PROXY) })
  const health = registerHealth(app, checks)
  await app.register(service.publicRoutes)
  await app.register(metricsRoutes)

  await service.start()
  await app.listen({ host: config.HOST, port: config.PORT })
  await service.internalApp.listen({ host: config.INTERNAL_HOST, port: config.INTERNAL_PORT })

  closeOnSignals({
    log,
    health,
    drainDelayMs: config.SHUTDOWN_DELAY_SECONDS * 1000,
    close: async () => {
      health.markShuttingDown()
      await app.close()
      await service.close()
    }
  })
}

/**
 * Reports a failed start (what is wrong, not a stack) and exits 1: one line,
 * or for a configuration one line per problem.
 */
export function exitOnStartFailure (service: string, error: unknown): never {
  if (error instanceof ConfigError) {
    const problems = error.problems.map((problem) => `  ${problem}\n`).join('')
    process.stderr.write(`${service}: cannot start: invalid configuration:\n${problems}`)
  } else {
    const message = error instanceof Error ? error.message : String(error)
    process.stderr.write(`${service}: cannot start: ${message}\n`)
  }
  process.exit(1)
}
