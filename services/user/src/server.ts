import { createLogger, exitOnStartFailure, serveService, withStandIns } from '@twofa/kit'
import { connectUserBackends } from './backends.js'
import { loadUserConfig } from './config.js'
import { createUserService } from './service.js'

/** The user service as its own process: public port and internal port. */
async function main (): Promise<void> {
  const config = loadUserConfig(process.env)
  const log = createLogger({ service: 'user', level: config.LOG_LEVEL })

  const backends = await connectUserBackends(config, log)
  const service = await createUserService(config, log, backends)
  const checks = withStandIns(backends.checks, {
    mongodb: config.MONGO_URL,
    rabbitmq: config.AMQP_URL
  })
  await serveService(service, config, log, checks)
}

main().catch((error: unknown) => exitOnStartFailure('user', error))
