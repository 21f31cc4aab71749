import t, { type Test } from 'tap'
import type { FastifyInstance } from 'fastify'
import { createApp } from '../src/app.js'
import { LogCapture } from '@twofa/testing'
import {
  registerHealth,
  withStandIns,
  type Health,
  type ReadinessCheck
} from '../src/health.js'
import { createLogger } from '../src/logger.js'

function build (
  t: Test,
  checks: ReadinessCheck[],
  logs?: LogCapture
): { app: FastifyInstance, health: Health } {
  const logger = logs
    ? createLogger({ service: 'test', level: 'info', destination: logs })
    : createLogger({ service: 'test', level: 'silent' })
  const app = createApp({ logger })
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

t.test('/readyz while shutting down logs its deliberate 503 at info, not as an error',
  async (t) => {
    const logs = new LogCapture()
    const { app, health } = build(t, [answers], logs)

    health.markShuttingDown()
    await app.inject('/readyz')

    const levels = logs.entries().map((entry) => entry.level)
    t.match(logs.entries(), [
      { level: 'info', msg: 'not ready: shutting down', shutting_down: true },
      { level: 'info', msg: 'request', route: '/readyz', status: 503 }
    ])
    t.notOk(levels.includes('error') || levels.includes('warn'), levels.join(', '))
  })

t.test('/readyz still logs a failed check as a warning and its 503 as an error', async (t) => {
  const logs = new LogCapture()
  const { app } = build(t, [fails], logs)

  await app.inject('/readyz')

  t.match(logs.entries(), [
    { level: 'warn', msg: 'not ready' },
    { level: 'error', msg: 'request', status: 503 }
  ])
})

t.test('/readyz lists a dependency on an in-memory stand-in as "memory", and is ready',
  async (t) => {
    const rabbitmq: ReadinessCheck = { name: 'rabbitmq', check: async () => {} }
    const checks = withStandIns([answers, rabbitmq], {
      redis: 'redis://127.0.0.1:6379',
      mongodb: 'memory://',
      rabbitmq: 'memory://'
    })
    const { app } = build(t, checks)

    const response = await app.inject('/readyz')

    t.equal(response.statusCode, 200)
    t.same(response.json().checks, { redis: 'ok', mongodb: 'memory', rabbitmq: 'memory' })
  })
