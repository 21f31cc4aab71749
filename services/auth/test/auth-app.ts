import { generateKeyPairSync, randomBytes } from 'node:crypto'
import type { Test } from 'tap'
import type { FastifyInstance } from 'fastify'
import { connectRedis, createApp, createLogger, type Transport } from '@twofa/kit'
import { deleteRedisPrefix, uniqueName } from '@twofa/testing'
import { loadAuthConfig } from '../src/config.js'
import { createAuthService } from '../src/service.js'

const signingKey = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey
  .export({ type: 'pkcs8', format: 'pem' }).toString()

/** The user service's answer to every password: wrong. */
export const refusingUsers: Transport = async () => ({
  status: 401,
  body: { error: 'invalid_credentials', message: 'The email or password is not correct.' }
})

const unusedTotp: Transport = async () => { throw new Error('the totp service is not called') }

export interface AuthAppOptions {
  /** Redis to count sign-ins in; the app uses a key prefix of its own and removes it. */
  redisUrl: string
  /** How the user service answers; by default it refuses every password. */
  users?: Transport
  env?: Record<string, string>
}

/** The auth service's public app on real Redis, with the user service answered by `users`. */
export async function startAuthApp (t: Test, options: AuthAppOptions): Promise<FastifyInstance> {
  const url = options.redisUrl
  const prefix = `${uniqueName('auth')}:`
  const config = loadAuthConfig({
    NODE_ENV: 'test',
    INTERNAL_TOKEN: randomBytes(32).toString('base64url'),
    USER_SERVICE_URL: 'http://127.0.0.1:9/',
    TOTP_SERVICE_URL: 'http://127.0.0.1:9/',
    SIGNING_KEY: signingKey,
    REDIS_URL: url,
    REDIS_PREFIX: prefix,
    ...options.env
  })
  const log = createLogger({ service: 'auth', level: 'silent' })
  const client = await connectRedis({ url, keyPrefix: prefix }, log)
  const transports = { user: options.users ?? refusingUsers, totp: unusedTotp }
  const service = createAuthService(config, transports, client)
  const app = createApp({ logger: log })
  await app.register(service.publicRoutes)
  t.teardown(async () => {
    await app.close()
    client.disconnect()
    await deleteRedisPrefix(url, prefix)
  })
  return app
}
