import type { FastifyInstance } from 'fastify'
import type { Logger } from 'pino'
import {
  busSettingsOf,
  connectRedis,
  createApp,
  injectTransport,
  isMemoryUrl,
  metricsRoutes,
  registerHealth,
  trustProxyFrom,
  type Health
} from '@twofa/kit'
import { AmqpBus, MemoryBus, type EventBus } from '@twofa/events'
import { createAuthService } from '@twofa/auth'
import {
  connectTotpBackends,
  createTotpService,
  type TotpService
} from '@twofa/totp'
import {
  connectUserBackends,
  createUserService,
  type UserService
} from '@twofa/user'
import { registerApiDocs } from './api-docs.js'
import { loadServiceConfigs } from './config.js'
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
  // Every setting is checked before anything connects, so a problem is not found half-way.
  const config = loadServiceConfigs(env)
  const log = loggerFor('twofa')

  let bus: EventBus
  if (isMemoryUrl(config.totp.AMQP_URL)) {
    log.warn('using the in-memory stand-in for RabbitMQ (AMQP_URL=memory://): ' +
      'events are lost on restart')
    bus = new MemoryBus()
  } else {
    bus = await AmqpBus.connect(busSettingsOf(config.totp), log)
  }

  // The other services verify tokens with the key of the auth service, built below.
  const resolveKey = async (kid: string) => kid === auth.key.kid ? auth.key.publicPem : undefined
  const shared = { bus, resolveKey }

  const totpLog = loggerFor('totp')
  const totpBackends = await connectTotpBackends(config.totp, totpLog, shared)
  const totp = await createTotpService(config.totp, totpLog, totpBackends, options.now)

  const userLog = loggerFor('user')
  const userBackends = await connectUserBackends(config.user, userLog, shared)
  const user = await createUserService(config.user, userLog, userBackends)

  const authConfig = config.auth
  const authRedis = isMemoryUrl(authConfig.REDIS_URL)
    ? null
    : await connectRedis({ url: authConfig.REDIS_URL, keyPrefix: authConfig.REDIS_PREFIX }, log)
  const token = authConfig.INTERNAL_TOKEN
  const auth = createAuthService(authConfig, {
    user: injectTransport(user.internalApp, { token }),
    totp: injectTransport(totp.internalApp, { token })
  }, authRedis)

  const app = createApp({ logger: log, trustProxy: trustProxyFrom(authConfig.TRUST_PROXY) })
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
