import type { FastifyInstance } from 'fastify'

/** A named check of one backing service; it resolves when the service answers. */
export interface ReadinessCheck {
  name: string
  check: () => Promise<void>
}

export interface Health {
  /** Makes `/readyz` answer 503 from now on, e.g. while shutting down. */
  markShuttingDown: () => void
}

const CHECK_TIMEOUT_MS = 1500

async function runCheck (check: ReadinessCheck): Promise<string> {
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
 * Registers `/healthz` (the process is alive) and `/readyz` (every backing
 * service answers and the process is not shutting down).
 */
export function registerHealth (app: FastifyInstance, checks: ReadinessCheck[]): Health {
  let shuttingDown = false

  app.get('/healthz', async () => ({ status: 'ok' }))

  app.get('/readyz', async (request, reply) => {
    const results: Record<string, string> = {}
    await Promise.all(checks.map(async (check) => {
      results[check.name] = await runCheck(check)
    }))

    const ready = !shuttingDown && Object.values(results).every((result) => result === 'ok')
    if (!ready) request.log.warn({ checks: results, shutting_down: shuttingDown }, 'not ready')

    return reply.code(ready ? 200 : 503).send({
      status: ready ? 'ready' : 'not_ready',
      shutting_down: shuttingDown,
      checks: results
    })
  })

  return { markShuttingDown: () => { shuttingDown = true } }
}
