import { generateKeyPairSync, randomBytes } from 'node:crypto'
import type { Test } from 'tap'
import type { FastifyInstance } from 'fastify'
import { createApp, createLogger } from '@twofa/kit'
import { LogCapture, signEs256 } from '@twofa/testing'
import { connectUserBackends } from '../src/backends.js'
import { loadUserConfig } from '../src/config.js'
import { createUserService, type UserService } from '../src/service.js'
import type { UserStore } from '../src/store/users.js'

const KID = 'test-key'
const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' })
const publicPem = publicKey.export({ type: 'spki', format: 'pem' }).toString()

export interface UserApp {
  app: FastifyInstance
  service: UserService
  store: UserStore
  logs: LogCapture
  /** Sends a JSON request to the public app. */
  call: (
    method: 'GET' | 'POST' | 'DELETE',
    url: string,
    body?: unknown,
    token?: string
  ) => Promise<{ status: number, body: any }>
  /** An access token as the auth service issues it after a sign-in with two factors. */
  tokenFor: (user: { id: string, email: string, roles: string[] }) => string
}

/**
 * The user service's public routes on its in-memory stand-ins, with every
 * log line captured, verifying tokens signed by a key of the test's own.
 */
export async function startUserApp (t: Test, env: Record<string, string> = {}): Promise<UserApp> {
  const logs = new LogCapture()
  const log = createLogger({ service: 'user', level: 'info', destination: logs })
  const config = loadUserConfig({
    NODE_ENV: 'test',
    INTERNAL_TOKEN: randomBytes(32).toString('base64url'),
    MONGO_URL: 'memory://',
    AMQP_URL: 'memory://',
    JWKS_URL: 'http://127.0.0.1:9/.well-known/jwks.json',
    REGISTRATION_RATE_PER_MINUTE: '0',
    ...env
  })
  const backends = await connectUserBackends(config, log, {
    resolveKey: async (kid) => kid === KID ? publicPem : undefined
  })
  const service = await createUserService(config, log, backends)
  const app = createApp({ logger: log })
  await app.register(service.publicRoutes)
  t.teardown(async () => {
    await app.close()
    await service.close()
  })

  return {
    app,
    service,
    store: backends.store,
    logs,
    call: async (method, url, body, token) => {
      const response = await app.inject({
        method,
        url,
        headers: {
          ...(token ? { authorization: `Bearer ${token}` } : {}),
          ...(body !== undefined ? { 'content-type': 'application/json' } : {})
        },
        payload: body === undefined ? undefined : JSON.stringify(body)
      })
      return { status: response.statusCode, body: response.body ? response.json() : null }
    },
    tokenFor: (user) => signEs256(privateKey, KID, {
      sub: user.id,
      email: user.email,
      roles: user.roles,
      amr: ['pwd', 'otp'],
      token_use: 'access',
      iss: config.TOKEN_ISSUER,
      aud: config.TOKEN_AUDIENCE,
      exp: Math.floor(Date.now() / 1000) + 300
    })
  }
}
