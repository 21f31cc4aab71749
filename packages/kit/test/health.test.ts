import t, { type Test } from 'tap'
import type { FastifyInstance } from 'fastify'
import { createApp } from '../src/app.js'
import { registerHealth, type Health, type ReadinessCheck } from '../src/health.js'
import { createLogger } from '../src/logger.js'

function build (t: Test, checks: ReadinessCheck[]): { app: FastifyInstance, health: Health } {
  const app = createApp({ logger: createLogger({ service: 'test', level: 'silent' }) })
  const health = registerHealth(app, checks)

  t.teardown(async () => { await app.close() })
  return { app, health }
}

const answers: ReadinessCheck = { name: 'redis', check: async () => {} }
const fails: ReadinessCheck = {
  name: 'mongodb',
  check: async () => { throw new Error('ECONNREFUSED 10.0.0.5') }
}

t.test('/healthz answers 200 while the process runs, ' +
  'whatever the backing services do', async (t) => {
  const { app } = build(t, [fails])

  const response = await app.inject('/healthz')

  t.equal(response.statusCode, 200)
  t.same(response.json(), { status: 'ok' })
})

t.test('/readyz answers 200 when every check answers', async (t) => {
  const { app } = build(t, [answers])

  const response = await app.inject('/readyz')

  t.equal(response.statusCode, 200)
  t.same(response.json(), { status: 'ready', shutting_down: false, checks: { redis: 'ok' } })
})

t.test('/readyz answers 503 naming the check that failed, without its error text', async (t) => {
  const { app } = build(t, [answers, fails])

  const response = await app.inject('/readyz')

  t.equal(response.statusCode, 503)
  t.same(response.json().checks, { redis: 'ok', mongodb: 'unavailable' })
  t.notMatch(response.body, /ECONNREFUSED|10\.0\.0\.5/)
})

t.test('/readyz gives up on a check that does not answer', async (t) => {
  const hangs: ReadinessCheck = { name: 'rabbitmq', check: async () => await new Promise(() => {}) }
  const { app } = build(t, [hangs])

  const response = await app.inject('/readyz')

  t.equal(response.statusCode, 503)
  t.same(response.json().checks, { rabbitmq: 'unavailable' })
})

t.test('/readyz answers 503 once shutdown has begun', async (t) => {
  const { app, health } = build(t, [answers])

  health.markShuttingDown()
  const response = await app.inject('/readyz')

  t.equal(response.statusCode, 503)
  t.match(response.json(), { status: 'not_ready', shutting_down: true })
})
