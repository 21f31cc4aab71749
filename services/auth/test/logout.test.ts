import { generateKeyPairSync, randomBytes } from 'node:crypto'
import t, { type Test } from 'tap'
import type { FastifyInstance } from 'fastify'
import {
  CSRF_COOKIE,
  SESSION_COOKIE,
  connectRedis,
  createApp,
  createLogger,
  type Transport
} from '@twofa/kit'
import { deleteRedisPrefix, present, redisBacking, skipWithout, uniqueName } from '@twofa/testing'
import { loadAuthConfig } from '../src/config.js'
import { createAuthService } from '../src/service.js'

const redis = await redisBacking()
const noRedis = skipWithout(redis)
t.teardown(async () => { await redis.stop() })

const signingKey = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey
  .export({ type: 'pkcs8', format: 'pem' }).toString()

/** The user service's answer to every password: wrong. */
const refusingUsers: Transport = async () => ({
  status: 401,
  body: { error: 'invalid_credentials', message: 'The email or password is not correct.' }
})
const unusedTotp: Transport = async () => { throw new Error('the totp service is not called') }

/** The auth service's public app on real Redis, counting under a prefix of its own. */
async function startAuth (t: Test, ratePerMinute: number): Promise<FastifyInstance> {
  const { url } = present(redis)
  const prefix = `${uniqueName('logout')}:`
  const config = loadAuthConfig({
    NODE_ENV: 'test',
    INTERNAL_TOKEN: randomBytes(32).toString('base64url'),
    USER_SERVICE_URL: 'http://127.0.0.1:9/',
    TOTP_SERVICE_URL: 'http://127.0.0.1:9/',
    SIGNING_KEY: signingKey,
    REDIS_URL: url,
    REDIS_PREFIX: prefix,
    RATE_LIMIT_PER_MINUTE: String(ratePerMinute)
  })
  const log = createLogger({ service: 'auth', level: 'silent' })
  const client = await connectRedis({ url, keyPrefix: prefix }, log)
  const service = createAuthService(config, { user: refusingUsers, totp: unusedTotp }, client)
  const app = createApp({ logger: log })
  await app.register(service.publicRoutes)
  t.teardown(async () => {
    await app.close()
    client.disconnect()
    await deleteRedisPrefix(url, prefix)
  })
  return app
}

async function signIn (app: FastifyInstance): Promise<number> {
  const response = await app.inject({
    method: 'POST',
    url: '/api/sso/token',
    headers: { 'content-type': 'application/json' },
    payload: JSON.stringify({ email: 'nobody@example.com', password: 'wrong password' })
  })
  return response.statusCode
}

t.test('signing out works and clears both cookies after the sign-in rate limit is spent',
  { skip: noRedis }, async (t) => {
    const app = await startAuth(t, 3)
    const statuses = []
    for (let i = 0; i < 4; i++) statuses.push(await signIn(app))
    t.same(statuses, [401, 401, 401, 429], 'the sign-in limit is spent')

    const logout = await app.inject({
      method: 'POST',
      url: '/api/sso/logout',
      cookies: { [SESSION_COOKIE]: 'a session', [CSRF_COOKIE]: 'its csrf value' }
    })

    t.equal(logout.statusCode, 200)
    t.same(logout.json(), { success: true })
    const cleared = logout.cookies.filter((cookie) => cookie.value === '')
    t.same(cleared.map((cookie) => cookie.name).sort(), [CSRF_COOKIE, SESSION_COOKIE].sort())
  })

t.test('signing out does not spend the sign-in rate limit', { skip: noRedis }, async (t) => {
  const app = await startAuth(t, 2)
  for (let i = 0; i < 5; i++) {
    await app.inject({ method: 'POST', url: '/api/sso/logout' })
  }

  t.same([await signIn(app), await signIn(app), await signIn(app)], [401, 401, 429])
})
