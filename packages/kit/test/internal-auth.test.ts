import t, { type Test } from 'tap'
import type { FastifyInstance } from 'fastify'
import { createApp } from '../src/app.js'
import { registerHealth } from '../src/health.js'
import { requireServiceToken } from '../src/internal-auth.js'
import { createLogger } from '../src/logger.js'

const CREDENTIAL = 'internal-credential-of-at-least-32-chars'

function build (t: Test): FastifyInstance {
  const app = createApp({ logger: createLogger({ service: 'test', level: 'silent' }) })
  requireServiceToken(app, CREDENTIAL)
  registerHealth(app, [])
  app.get('/internal/users/:id', async () => ({ ok: true }))

  t.teardown(async () => { await app.close() })
  return app
}

async function statusWith (
  app: FastifyInstance,
  authorization?: string,
  url = '/internal/users/1'
): Promise<number> {
  const response = await app.inject({
    method: 'GET',
    url,
    headers: authorization ? { authorization } : {}
  })
  return response.statusCode
}

t.test('a request with the service credential is let through', async (t) => {
  t.equal(await statusWith(build(t), `Bearer ${CREDENTIAL}`), 200)
})

t.test('the bearer scheme of the service credential is accepted in any case', async (t) => {
  const app = build(t)

  for (const scheme of ['bearer', 'BEARER', 'bEaReR']) {
    t.equal(await statusWith(app, `${scheme} ${CREDENTIAL}`), 200, scheme)
  }
})

t.test('a request without a credential gets 401 with its own message', async (t) => {
  const response = await build(t).inject({ method: 'GET', url: '/internal/users/1' })

  t.equal(response.statusCode, 401)
  t.same(response.json(), {
    error: 'unauthorized',
    message: 'A valid service credential is required.'
  })
})

t.test('a wrong credential gets 401', async (t) => {
  const app = build(t)

  for (const value of [
    'Bearer wrong',
    `Bearer ${CREDENTIAL}x`,
    `Bearer ${CREDENTIAL.slice(0, -1)}`,
    'Bearer ',
    `Basic ${CREDENTIAL}`,
    CREDENTIAL
  ]) {
    t.equal(await statusWith(app, value), 401, value)
  }
})

t.test('an unknown route behind the guard gets 401, not 404, without a credential', async (t) => {
  t.equal(await statusWith(build(t), undefined, '/internal/nowhere'), 401)
})

t.test('health endpoints answer without a credential', async (t) => {
  const app = build(t)

  t.equal(await statusWith(app, undefined, '/healthz'), 200)
  t.equal(await statusWith(app, undefined, '/readyz'), 200)
})
