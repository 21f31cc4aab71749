import type { FastifyInstance } from 'fastify'
import { isMemoryUrl } from './config.js'

/** A named check of one backing service; it resolves when the service answers. */
export interface ReadinessCheck {
  name: string
  check: () => Promise<void>
  /** An in-memory stand-in: nothing to check, and `/readyz` says `memory`, not `ok`. */
  standIn?: true
}

export interface Health {
  /** Makes `/readyz` answer 503 from now on, e.g. while shutting down. */
  markShuttingDown: () => void
}

const CHECK_TIMEOUT_MS = 1500

async function runCheck (check: ReadinessCheck): Promise<string> {
  if (check.standIn) return 'memory'

  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error('timed out')), CHECK_TIMEOUT_MS)
  })

  try {
    await Promise.race([check.check(), timeout])
    return 'ok'
  } catch {
    return 'unavailable'
  } finally {
    clearTimeout(timer)
  }
}

/**
 * A service's readiness checks with its in-memory stand-ins named: each
 * dependency whose address is `memory://` is listed as a stand-in, in place
 * of any check of that name, so `/readyz` lists every dependency and never
 * calls a stand-in `ok`. `addresses` maps a check's name to its setting's value.
 */
export function withStandIns (
  checks: ReadinessCheck[],
  addresses: Record<string, string>
): ReadinessCheck[] {
  const standIns = Object.entries(addresses)
    .filter(([, address]) => isMemoryUrl(address))
    .map(([name]) => name)

  return [
    ...checks.filter((check) => !standIns.includes(check.name)),
    ...standIns.map((name) => ({ name, check: async () => {}, standIn: true as const }))
  ]
}

/**
 * Registers `/healthz` (the process is alive) and `/readyz` (every backing
 * service answers or is a stand-in, and the process is not shutting down).
 */
export function registerHealth (app: FastifyInstance, checks: ReadinessCheck[]): Health {
  let shuttingDown = false

  app.get('/healthz', async () => ({ status: 'ok' }))

  app.get('/readyz', async (request, reply) => {
    const outcomes = await Promise.all(checks.map(runCheck))
    const results: Record<string, string> = Object.fromEntries(
      checks.map((check, i) => [check.name, outcomes[i] as string]))

    const failing = Object.values(results).includes('unavailable')
    const ready = !shuttingDown && !failing
    const detail = { checks: results, shutting_down: shuttingDown }
    if (failing) {
      request.log.warn(detail, 'not ready')
    } else if (shuttingDown) {
      // The 503 that tells load balancers to stop sending work here: expected, not a fault.
      request.expectedFailure = true
      request.log.info(detail, 'not ready: shutting down')
    }

    return reply.code(ready ? 200 : 503).send({
      status: ready ? 'ready' : 'not_ready',
      shutting_down: shuttingDown,
      checks: results
    })
  })

  return { markShuttingDown: () => { shuttingDown = true } }
}
