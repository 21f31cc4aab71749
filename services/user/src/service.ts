import type { FastifyInstance, FastifyPluginAsync } from 'fastify'
import type { Logger } from 'pino'
import { createApp, registerAccessTokens, registerHealth, requireServiceToken } from '@twofa/kit'
import { EventPublisher, OutboxRelay } from '@twofa/events'
import type { UserBackends } from './backends.js'
import type { UserConfig } from './config.js'
import { createUsers, type Users } from './domain/users.js'
import { subscribeConsumers } from './events/consumers.js'
import { adminRoutes } from './routes/admin.js'
import { internalRoutes } from './routes/internal.js'
import { publicRoutes } from './routes/public.js'

export interface UserService {
  users: Users
  /** Publishes events that are not tied to a stored change (operations). */
  publisher: EventPublisher
  /** Publishes the events stored beside user changes. */
  relay: OutboxRelay
  publicRoutes: FastifyPluginAsync
  internalApp: FastifyInstance
  /** Creates the first admin when configured, and starts consuming events. */
  start: () => Promise<void>
  close: () => Promise<void>
}

/** Assembles the user service from its config and backends; nothing listens yet. */
export async function createUserService (
  config: UserConfig,
  log: Logger,
  backends: UserBackends
): Promise<UserService> {
  const publisher = new EventPublisher(backends.bus, log)
  const relay = new OutboxRelay(backends.store, backends.bus, log)
  const users = createUsers({
    store: backends.store,
    registrationEnabled: config.REGISTRATION_ENABLED
  })

  const routes: FastifyPluginAsync = async (app) => {
    await registerAccessTokens(app, {
      resolveKey: backends.resolveKey,
      issuer: config.TOKEN_ISSUER,
      audience: config.TOKEN_AUDIENCE,
      adminNeedsSecondFactor: config.ADMIN_REQUIRE_2FA
    })
    await app.register(publicRoutes, {
      users,
      registrationRatePerMinute: config.REGISTRATION_RATE_PER_MINUTE
    })
    await app.register(adminRoutes, { users })
  }

  const internalApp = createApp({ logger: log, requestLogLevel: 'debug' })
  requireServiceToken(internalApp, config.INTERNAL_TOKEN)
  registerHealth(internalApp, backends.checks)
  await internalApp.register(internalRoutes, { users })

  return {
    users,
    publisher,
    relay,
    publicRoutes: routes,
    internalApp,
    start: async () => {
      if (config.ADMIN_EMAIL && config.ADMIN_PASSWORD) {
        await users.ensureAdmin(config.ADMIN_EMAIL, config.ADMIN_PASSWORD, log)
      }
      await subscribeConsumers(backends.bus, backends.inbox, users, log)
      relay.start()
    },
    close: async () => {
      await internalApp.close()
      await publisher.flush(3000)
      await relay.flush(3000)
      await relay.stop()
      await backends.close()
    }
  }
}
