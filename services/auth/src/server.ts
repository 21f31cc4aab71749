import {
  closeOnSignals,
  createApp,
  createLogger,
  exitOnStartFailure,
  fetchTransport,
  registerHealth,
  type Transport
} from '@twofa/kit'
import { loadAuthConfig } from './config.js'
import { createAuthService } from './service.js'

/** Ready when the services it calls are ready. */
function dependencyCheck (name: string, transport: Transport) {
  return {
    name,
    check: async () => {
      const response = await transport({ method: 'GET', path: '/readyz' })
      if (response.status !== 200) throw new Error(`${name} is not ready`)
    }
  }
}

/** The auth service as its own process. */
async function main (): Promise<void> {
  const config = loadAuthConfig(process.env)
  const log = createLogger({ service: 'auth', level: config.LOG_LEVEL })

  const transports = {
    user: fetchTransport(config.USER_SERVICE_URL, { token: config.INTERNAL_TOKEN }),
    totp: fetchTransport(config.TOTP_SERVICE_URL, { token: config.INTERNAL_TOKEN })
  }
  const service = createAuthService(config, transports)

  const app = createApp({ logger: log })
  const health = registerHealth(app, [
    dependencyCheck('user', transports.user),
    dependencyCheck('totp', transports.totp)
  ])
  await app.register(service.publicRoutes)
  await app.listen({ host: config.HOST, port: config.PORT })

  closeOnSignals({
    log,
    close: async () => {
      health.markShuttingDown()
      await app.close()
    }
  })
}

main().catch((error: unknown) => exitOnStartFailure('auth', error))
