import {
  closeOnSignals,
  createApp,
  createLogger,
  exitOnStartFailure,
  metricsRoutes,
  registerHealth
} from '@twofa/kit'
import { connectTotpBackends } from './backends.js'
import { loadTotpConfig } from './config.js'
import { createTotpService } from './service.js'

/** The totp service as its own process: public port and internal port. */
async function main (): Promise<void> {
  const config = loadTotpConfig(process.env)
  const log = createLogger({ service: 'totp', level: config.LOG_LEVEL })

  const backends = await connectTotpBackends(config, log)
  const service = await createTotpService(config, log, backends)

  const app = createApp({ logger: log })
  const health = registerHealth(app, backends.checks)
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

main().catch((error: unknown) => exitOnStartFailure('totp', error))
