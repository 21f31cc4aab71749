import { closeOnSignals, createLogger, exitOnStartFailure } from '@twofa/kit'
import { loadSystemConfig } from './config.js'
import { buildSystem } from './system.js'

/**
 * `pnpm start`: the whole system in one process. Redis, MongoDB and RabbitMQ
 * are used when their addresses are set, and in-memory stand-ins otherwise.
 * Every setting, its own and the services', is checked before anything starts.
 */
async function main (): Promise<void> {
  const { standalone: config, env, secretsFile } = loadSystemConfig(process.env)
  const log = createLogger({ service: 'twofa', level: config.LOG_LEVEL })
  if (secretsFile) {
    log.warn(
      { file: secretsFile },
      'development secrets in use (generated once, kept in this file); ' +
        'set them in the environment for production'
    )
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
