import {
  closeOnSignals,
  createApp,
  createLogger,
  exitOnStartFailure,
  metricsRoutes,
  registerHealth
} from '@twofa/kit'
import { connectUserBackends } from './backends.js'
import { loadUserConfig } from './config.js'
import { createUserService } from './service.js'

/** The user service as its own process: public port and internal port. */
async function main (): Promise<void> {
  const config = loadUserConfig(process.env)
  const log = createLogger({ service: 'user', level: config.LOG_LEVEL })

  const backends = await connectUserBackends(config, log)
  const service = await createUserService(config, log, backends)

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

main().catch((error: unknown) => exitOnStartFailure('user', error))
