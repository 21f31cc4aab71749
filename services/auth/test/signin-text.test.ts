import { generateKeyPairSync, randomBytes } from 'node:crypto'
import t, { type Test } from 'tap'
import type { FastifyInstance } from 'fastify'
import { connectRedis, createApp, createLogger, type Transport } from '@twofa/kit'
import { deleteRedisPrefix, present, redisBacking, skipWithout, uniqueName } from '@twofa/testing'
import { loadAuthConfig } from '../src/config.js'
import { createAuthService } from '../src/service.js'

const redis = await redisBacking()
const noRedis = skipWithout(redis)
t.teardown(async () => { await redis.stop() })

const signingKey = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey
  .export({ type: 'pkcs8', format: 'pem' }).toString()

const unusedTotp: Transport = async () => { throw new Error('the totp service is not called') }

/**
 * The auth service's public app on real Redis; its user service refuses
 * every password and counts the checks it is asked for.
 */
async function startAuth (t: Test): Promise<{ app: FastifyInstance, checks: () => number }> {
  const { url } = present(redis)
  const prefix = `${uniqueName('signin-text')}:`
  const config = loadAuthConfig({
    NODE_ENV: 'test',
    INTERNAL_TOKEN: randomBytes(32).toString('base64url'),
    USER_SERVICE_URL: 'http://127.0.0.1:9/',
    TOTP_SERVICE_URL: 'http://127.0.0.1:9/',
    SIGNING_KEY: signingKey,
    REDIS_URL: url,
    REDIS_PREFIX: prefix,
    RATE_LIMIT_PER_MINUTE: '0'
  })
  let checks = 0
  const refusingUsers: Transport = async () => {
    checks++
    return {
      status: 401,
      body: { error: 'invalid_credentials', message: 'The email or password is not correct.' }
    }
  }
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
  return { app, checks: () => checks }
}

async function signIn (app: FastifyInstance, email: string, password: string) {
  const response = await app.inject({
    method: 'POST',
    url: '/api/sso/token',
    headers: { 'content-type': 'application/json' },
    payload: JSON.stringify({ email, password })
  })
  return { status: response.statusCode, body: response.json() }
}

t.test('a sign-in with an unpaired surrogate in the email or password is refused with 400, ' +
  'is not passed on and does not count against the email', { skip: noRedis }, async (t) => {
  const { app, checks } = await startAuth(t)

  for (let i = 0; i < 12; i++) {
    t.same(await signIn(app, 'alice@example.com', 'xxxxxxxx\udc00'), {
      status: 400,
      body: {
        success: false,
        error: 'invalid_request',
        message: 'The password is not well-formed Unicode text: it holds an unpaired surrogate.'
      }
    })
  }
  t.same(await signIn(app, 'alice\ud800@example.com', 'xxxxxxxx'), {
    status: 400,
    body: {
      success: false,
      error: 'invalid_request',
      message: 'The email is not well-formed Unicode text: it holds an unpaired surrogate.'
    }
  })

  t.equal(checks(), 0, 'the user service was not asked')
  const wrong = await signIn(app, 'alice@example.com', 'xxxxxxxx\ufffd')
  t.equal(wrong.status, 401, 'a well-formed password is checked, and the email is not locked')
  t.equal(checks(), 1)
})
