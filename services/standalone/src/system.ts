import type { FastifyInstance } from 'fastify'
import type { Logger } from 'pino'
import {
  connectRedis,
  createApp,
  injectTransport,
  metricsRoutes,
  registerHealth,
  trustProxyFrom,
  type Health
} from '@twofa/kit'
import { AmqpBus, MemoryBus, type EventBus } from '@twofa/events'
import { createAuthService, loadAuthConfig } from '@twofa/auth'
import {
  connectTotpBackends,
  createTotpService,
  loadTotpConfig,
  type TotpService
} from '@twofa/totp'
import {
  connectUserBackends,
  createUserService,
  loadUserConfig,
  type UserService
} from '@twofa/user'
import { registerApiDocs } from './api-docs.js'
import { DEFAULT_WEB_ROOT, registerWebPages } from './web-pages.js'

export interface System {
  app: FastifyInstance
  health: Health
  totp: TotpService
  user: UserService
  bus: EventBus
  close: () => Promise<void>
}

/**
 * The whole product in one process: the three services' public routes on
 * one app, their internal APIs called in process (same routes, schemas and
 * credential check, no socket), and one event bus between them.
 */
/** Makes the logger of one part of the system: `twofa` (the shared app), `auth`, `totp`, `user`. */
export type LoggerFactory = (service: string) => Logger

export interface SystemOptions {
  /** The clock of the 2FA checks; tests pin it. */
  now?: () => number
}

export async function buildSystem (
  env: Record<string, string | undefined>,
  loggerFor: LoggerFactory,
  options: SystemOptions = {}
): Promise<System> {
  const log = loggerFor('twofa')
  const busUrl = env.AMQP_URL ?? 'memory://'
  let bus: EventBus
  if (busUrl.startsWith('memory:')) {
    log.warn('using the in-memory event bus (AMQP_URL is not set)')
    bus = new MemoryBus()
  } else {
    bus = await AmqpBus.connect({
      url: busUrl,
      exchange: env.AMQP_EXCHANGE ?? 'twofa.events',
      queuePrefix: env.AMQP_QUEUE_PREFIX ?? 'twofa.'
    }, log)
  }

  // The auth service is built first: its key verifies tokens in the others.
  const authConfig = loadAuthConfig({
    ...env,
    USER_SERVICE_URL: 'http://user.internal',
    TOTP_SERVICE_URL: 'http://totp.internal'
  })
  const resolveKey = async (kid: string) => kid === auth.key.kid ? auth.key.publicPem : undefined
  const shared = { bus, resolveKey }
  const serviceEnv = { ...env, JWKS_URL: 'http://auth.internal/.well-known/jwks.json' }

  const totpLog = loggerFor('totp')
  const totpConfig = loadTotpConfig(serviceEnv)
  const totpBackends = await connectTotpBackends(totpConfig, totpLog, shared)
  const totp = await createTotpService(totpConfig, totpLog, totpBackends, options.now)

  const userLog = loggerFor('user')
  const userConfig = loadUserConfig(serviceEnv)
  const userBackends = await connectUserBackends(userConfig, userLog, shared)
  const user = await createUserService(userConfig, userLog, userBackends)

  const authRedis = authConfig.REDIS_URL.startsWith('memory:')
    ? null
    : await connectRedis({ url: authConfig.REDIS_URL, keyPrefix: authConfig.REDIS_PREFIX }, log)
  const token = authConfig.INTERNAL_TOKEN
  const auth = createAuthService(authConfig, {
    user: injectTransport(user.internalApp, { token }),
    totp: injectTransport(totp.internalApp, { token })
  }, authRedis)

  const app = createApp({ logger: log, trustProxy: trustProxyFrom(env.TRUST_PROXY) })
  await registerWebPages(app, DEFAULT_WEB_ROOT, log)
  await registerApiDocs(app)
  const health = registerHealth(app, [
    {
      name: 'totp',
      check: async () => {
        if ((await totp.internalApp.inject('/readyz')).statusCode !== 200) throw new Error('totp')
      }
    },
    {
      name: 'user',
      check: async () => {
        if ((await user.internalApp.inject('/readyz')).statusCode !== 200) throw new Error('user')
      }
    }
  ])
  await app.register(auth.publicRoutes)
  await app.register(totp.publicRoutes)
  await app.register(user.publicRoutes)
  await app.register(metricsRoutes)

  await totp.start()
  await user.start()

  return {
    app,
    health,
    totp,
    user,
    bus,
    close: async () => {
      health.markShuttingDown()
      await app.close()
      await totp.close()
      await user.close()
      await bus.close()
      if (authRedis) await authRedis.quit().catch(() => authRedis.disconnect())
    }
  }
}
