import type { FastifyPluginAsync } from 'fastify'
import type { Transport } from '@twofa/kit'
import { createTotpClient } from './clients/totp-client.js'
import { createUserClient } from './clients/user-client.js'
import type { AuthConfig } from './config.js'
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
 * Assembles the auth service. It owns no data: credentials are checked by
 * the user service and second factors by the totp service, each over its
 * internal API.
 */
export function createAuthService (config: AuthConfig, transports: AuthTransports): AuthService {
  const key = loadSigningKey(config.SIGNING_KEY)
  const options = {
    users: createUserClient(transports.user),
    totp: createTotpClient(transports.totp),
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
