import type { FastifyPluginAsync } from 'fastify'
import type { Redis } from 'ioredis'
import { MemoryAttemptBudget, RedisAttemptBudget, type Transport } from '@twofa/kit'
import { createTotpClient } from './clients/totp-client.js'
import { createUserClient } from './clients/user-client.js'
import type { AuthConfig } from './config.js'
import { createSigninThrottle } from './domain/signin-throttle.js'
import { loadSigningKey, type SigningKey } from './domain/signing-key.js'
import { ssoRoutes } from './routes/sso.js'

export interface AuthTransports {
  user: Transport
  totp: Transport
}

export interface AuthService {
  key: SigningKey
  publicRoutes: FastifyPluginAsync
}

/**
 * Assembles the auth service. It owns no lasting data: credentials are
 * checked by the user service and second factors by the totp service, each
 * over its internal API; Redis (or its stand-in when `redis` is null) only
 * holds the expiring counts that throttle sign-in.
 */
export function createAuthService (
  config: AuthConfig,
  transports: AuthTransports,
  redis: Redis | null
): AuthService {
  const key = loadSigningKey(config.SIGNING_KEY)
  const budget = redis ? new RedisAttemptBudget(redis, 'signin:') : new MemoryAttemptBudget()
  const options = {
    users: createUserClient(transports.user),
    totp: createTotpClient(transports.totp),
    throttle: createSigninThrottle(budget, {
      limit: config.SIGNIN_FAILURE_LIMIT,
      windowSeconds: config.SIGNIN_WINDOW_SECONDS,
      lockSeconds: config.SIGNIN_LOCK_SECONDS
    }),
    ratePerMinute: config.RATE_LIMIT_PER_MINUTE,
    redis,
    key,
    issuer: config.TOKEN_ISSUER,
    audience: config.TOKEN_AUDIENCE,
    accessTokenTtlSeconds: config.ACCESS_TOKEN_TTL_SECONDS
  }

  return {
    key,
    publicRoutes: async (app) => { await app.register(ssoRoutes, options) }
  }
}
