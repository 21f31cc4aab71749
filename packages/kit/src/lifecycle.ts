import closeWithGrace from 'close-with-grace'
import type { Logger } from 'pino'
import type { Health } from './health.js'

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

/** Reports a failed start on one line (what is wrong, not a stack) and exits 1. */
export function exitOnStartFailure (service: string, error: unknown): never {
  const message = error instanceof Error ? error.message : String(error)
  process.stderr.write(`${service}: cannot start: ${message}\n`)
  process.exit(1)
}
