import t, { type Test } from 'tap'
import type { FastifyInstance } from 'fastify'
import type { Transport } from '@twofa/kit'
import { present, redisBacking, skipWithout } from '@twofa/testing'
import { refusingUsers, startAuthApp } from './auth-app.js'

const redis = await redisBacking()
const noRedis = skipWithout(redis)
t.teardown(async () => { await redis.stop() })

/**
 * The auth service's public app on real Redis; its user service refuses
 * every password and counts the checks it is asked for.
 */
async function startAuth (t: Test): Promise<{ app: FastifyInstance, checks: () => number }> {
  let checks = 0
  const users: Transport = async (request) => {
    checks++
    return await refusingUsers(request)
  }
  const app = await startAuthApp(t, {
    redisUrl: present(redis).url,
    users,
    env: { RATE_LIMIT_PER_MINUTE: '0' }
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
