import { closeOnSignals, createLogger, exitOnStartFailure } from '@twofa/kit'
import { loadStandaloneConfig } from './config.js'
import { resolveSecrets } from './dev-secrets.js'
import { buildSystem } from './system.js'

/**
 * `pnpm start`: the whole system in one process. Redis, MongoDB and RabbitMQ
 * are used when their addresses are set, and in-memory stand-ins otherwise.
 */
async function main (): Promise<void> {
  const config = loadStandaloneConfig(process.env)
  const log = createLogger({ service: 'twofa', level: config.LOG_LEVEL })

  const { secrets, file } = resolveSecrets(process.env, config.DATA_DIR)
  if (file) {
    log.warn(
      { file },
      'development secrets in use (generated once, kept in this file); ' +
        'set them in the environment for production'
    )
  }

  const env: Record<string, string | undefined> = {
    REDIS_URL: 'memory://',
    MONGO_URL: 'memory://',
    AMQP_URL: 'memory://',
    ...process.env,
    ...secrets
  }

  const system = await buildSystem(env, (service) =>
    service === 'twofa' ? log : createLogger({ service, level: config.LOG_LEVEL }))
  await system.app.listen({ host: config.HOST, port: config.PORT })

  closeOnSignals({
    log,
    health: system.health,
    drainDelayMs: config.SHUTDOWN_DELAY_SECONDS * 1000,
    close: system.close
  })
}

main().catch((error: unknown) => exitOnStartFailure('twofa', error))
