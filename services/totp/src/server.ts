import { createLogger, exitOnStartFailure, serveService, withStandIns } from '@twofa/kit'
import { connectTotpBackends } from './backends.js'
import { loadTotpConfig } from './config.js'
import { createTotpService } from './service.js'

/** The totp service as its own process: public port and internal port. */
async function main (): Promise<void> {
  const config = loadTotpConfig(process.env)
  const log = createLogger({ service: 'totp', level: config.LOG_LEVEL })

  const backends = await connectTotpBackends(config, log)
  const service = await createTotpService(config, log, backends)
  const checks = withStandIns(backends.checks, {
    redis: config.REDIS_URL,
    mongodb: config.MONGO_URL,
    rabbitmq: config.AMQP_URL
  })
  await serveService(service, config, log, checks)
}

main().catch((error: unknown) => exitOnStartFailure('totp', error))
