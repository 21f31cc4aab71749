import t, { type Test } from 'tap'
import type { FastifyInstance } from 'fastify'
import { CSRF_COOKIE, SESSION_COOKIE } from '@twofa/kit'
import { present, redisBacking, skipWithout } from '@twofa/testing'
import { startAuthApp } from './auth-app.js'

const redis = await redisBacking()
const noRedis = skipWithout(redis)
t.teardown(async () => { await redis.stop() })

/** The auth service with a sign-in rate limit of `ratePerMinute` per client address. */
async function startAuth (t: Test, ratePerMinute: number): Promise<FastifyInstance> {
  const { url } = present(redis)
  return await startAuthApp(t, {
    redisUrl: url,
    env: { RATE_LIMIT_PER_MINUTE: String(ratePerMinute) }
  })
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
