import { createLogger, exitOnStartFailure, serveService } from '@twofa/kit'
import { connectTotpBackends } from './backends.js'
import { loadTotpConfig } from './config.js'
import { createTotpService } from './service.js'

/** The totp service as its own process: public port and internal port. */
async function main (): Promise<void> {
  const config = loadTotpConfig(process.env)
  const log = createLogger({ service: 'totp', level: config.LOG_LEVEL })

  const backends = await connectTotpBackends(config, log)
  const service = await createTotpService(config, log, backends)
  await serveService(service, config, log, backends.checks)
}

main().catch((error: unknown) => exitOnStartFailure('totp', error))
