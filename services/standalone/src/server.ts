import { z } from 'zod'
import {
  closeOnSignals,
  createLogger,
  exitOnStartFailure,
  loadConfig,
  logLevel,
  port
} from '@twofa/kit'
import { resolveSecrets } from './dev-secrets.js'
import { buildSystem } from './system.js'

const schema = z.object({
  HOST: z.string().default('127.0.0.1'),
  PORT: port(8080),
  LOG_LEVEL: logLevel,
  DATA_DIR: z.string().default('.data')
})

/**
 * `pnpm start`: the whole system in one process. Redis, MongoDB and RabbitMQ
 * are used when their addresses are set, and in-memory stand-ins otherwise.
 */
async function main (): Promise<void> {
  const config = loadConfig('standalone', schema, process.env)
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

  closeOnSignals({ log, close: system.close })
}

main().catch((error: unknown) => exitOnStartFailure('twofa', error))
