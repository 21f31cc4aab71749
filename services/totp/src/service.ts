import type { FastifyInstance, FastifyPluginAsync } from 'fastify'
import type { Logger } from 'pino'
import { createApp, registerAccessTokens, registerHealth, requireServiceToken } from '@twofa/kit'
import { EventPublisher, OutboxRelay } from '@twofa/events'
import type { TotpBackends } from './backends.js'
import { keyRingOf, type TotpConfig } from './config.js'
import { RecoveryCodeHasher } from './domain/recovery-codes.js'
import { SecretBox } from './domain/secret-box.js'
import { createTwoFactor, type TwoFactor } from './domain/two-factor.js'
import { leasedOutbox } from './domain/lease.js'
import { subscribeConsumers } from './events/consumers.js'
import { adminRoutes } from './routes/admin.js'
import { internalRoutes } from './routes/internal.js'
import { settingsRoutes } from './routes/settings.js'

export interface TotpService {
  twoFactor: TwoFactor
  publisher: EventPublisher
  /** Publishes the events stored beside factor changes. */
  relay: OutboxRelay
  /** The public routes, to register on the service's own app or on the one-process app. */
  publicRoutes: FastifyPluginAsync
  /** The internal API on its own app, guarded by the service credential. */
  internalApp: FastifyInstance
  /** Starts consuming events. */
  start: () => Promise<void>
  close: () => Promise<void>
}

/** Assembles the totp service from its config and backends; nothing listens yet. */
export async function createTotpService (
  config: TotpConfig,
  log: Logger,
  backends: TotpBackends,
  now: () => number = Date.now
): Promise<TotpService> {
  const publisher = new EventPublisher(backends.bus, log)
  const relay = new OutboxRelay(leasedOutbox(backends.factors, backends.state), backends.bus, log)
  const twoFactor = createTwoFactor({
    factors: backends.factors,
    state: backends.state,
    box: new SecretBox(keyRingOf(config)),
    hasher: new RecoveryCodeHasher(config.RECOVERY_CODE_PEPPER),
    events: publisher,
    now,
    settings: {
      issuer: config.TOTP_ISSUER,
      window: config.TOTP_WINDOW,
      challengeTtlSeconds: config.CHALLENGE_TTL_SECONDS,
      challengeMaxAttempts: config.CHALLENGE_MAX_ATTEMPTS,
      enrollmentTtlSeconds: config.ENROLLMENT_TTL_SECONDS,
      enrollmentMaxAttempts: config.ENROLLMENT_MAX_ATTEMPTS,
      lockout: {
        limit: config.LOCKOUT_THRESHOLD,
        lockSeconds: config.LOCKOUT_SECONDS,
        maxLockSeconds: config.LOCKOUT_MAX_SECONDS,
        windowSeconds: config.LOCKOUT_WINDOW_SECONDS
      }
    }
  })

  const publicRoutes: FastifyPluginAsync = async (app) => {
    await registerAccessTokens(app, {
      resolveKey: backends.resolveKey,
      issuer: config.TOKEN_ISSUER,
      audience: config.TOKEN_AUDIENCE,
      adminNeedsSecondFactor: config.ADMIN_REQUIRE_2FA
    })
    await app.register(settingsRoutes, { twoFactor })
    await app.register(adminRoutes, { twoFactor })
  }

  const internalApp = createApp({ logger: log, requestLogLevel: 'debug' })
  requireServiceToken(internalApp, config.INTERNAL_TOKEN)
  registerHealth(internalApp, backends.checks)
  await internalApp.register(internalRoutes, { twoFactor })

  return {
    twoFactor,
    publisher,
    relay,
    publicRoutes,
    internalApp,
    start: async () => {
      await subscribeConsumers(backends.bus, backends.inbox, twoFactor, log)
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
