import {
  closeOnSignals,
  connectRedis,
  createApp,
  createLogger,
  exitOnStartFailure,
  httpTransport,
  metricsRoutes,
  reach,
  registerHealth,
  trustProxyFrom,
  withStandIns,
  type ReadinessCheck,
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
    user: httpTransport(config.USER_SERVICE_URL, { token: config.INTERNAL_TOKEN }),
    totp: httpTransport(config.TOTP_SERVICE_URL, { token: config.INTERNAL_TOKEN })
  }
  const checks: ReadinessCheck[] = [
    dependencyCheck('user', transports.user),
    dependencyCheck('totp', transports.totp)
  ]
  let redis = null
  if (config.REDIS_URL.startsWith('memory:')) {
    log.warn('using the in-memory stand-in for Redis (REDIS_URL=memory://): ' +
      'sign-in throttling is per process')
  } else {
    const settings = { url: config.REDIS_URL, keyPrefix: config.REDIS_PREFIX }
    const connect = async () => await connectRedis(settings, log)
    const client = await reach('Redis', config.REDIS_URL, connect)
    checks.push({ name: 'redis', check: async () => { await client.ping() } })
    redis = client
  }
  const service = createAuthService(config, transports, redis)

  const app = createApp({ logger: log, trustProxy: trustProxyFrom(config.TRUST_PROXY) })
  const health = registerHealth(app, withStandIns(checks, { redis: config.REDIS_URL }))
  await app.register(service.publicRoutes)
  await app.register(metricsRoutes)
  await app.listen({ host: config.HOST, port: config.PORT })

  closeOnSignals({
    log,
    health,
    drainDelayMs: config.SHUTDOWN_DELAY_SECONDS * 1000,
    close: async () => {
      health.markShuttingDown()
      await app.close()
      if (redis) await redis.quit().catch(() => redis?.disconnect())
    }
  })
}

main().catch((error: unknown) => exitOnStartFailure('auth', error))
