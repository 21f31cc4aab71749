import t, { type Test } from 'tap'
import { pino } from 'pino'
import { AmqpBus, createEnvelope, MemoryBus, type Envelope } from '@twofa/events'
import { amqpBacking, deleteAmqpTopology, present, skipWithout, uniqueName } from '@twofa/testing'
import { createApp } from '../src/app.js'
import { commonErrors } from '../src/errors.js'
import { createLogger } from '../src/logger.js'
import { metricsRoutes, processMetrics } from '../src/metrics.js'

/**
 * The current value of one series of the process registry; 0 while it does
 * not exist. A histogram's series are named with their suffix (`_count`).
 */
async function valueOf (name: string, labels: Record<string, string> = {}): Promise<number> {
  const base = name.replace(/_(count|sum)$/, '')
  const metric = processMetrics().registry.getSingleMetric(base)
  if (!metric) throw new Error(`no metric ${base}`)

  const { values } = await metric.get()
  const series = values.find((value) =>
    ((value as { metricName?: string }).metricName ?? base) === name &&
    Object.entries(labels).every(([key, expected]) => String(value.labels[key]) === expected))
  return series?.value ?? 0
}

/** How much a series grows while `step` runs; counters are shared by the whole process. */
async function growth (
  name: string,
  labels: Record<string, string>,
  step: () => Promise<void>
): Promise<number> {
  const before = await valueOf(name, labels)
  await step()
  return await valueOf(name, labels) - before
}

function build (t: Test) {
  const app = createApp({ logger: createLogger({ service: 'test', level: 'silent' }) })
  app.get('/things/:id', async () => ({ ok: true }))
  app.get('/refused', async () => { throw commonErrors.forbidden() })
  t.teardown(async () => { await app.close() })
  return app
}

async function published (events: Envelope[]): Promise<void> {
  const bus = new MemoryBus()
  for (const event of events) await bus.publish(event)
  await bus.close()
}

t.test('/metrics answers in the Prometheus text format with the process metrics', async (t) => {
  const app = build(t)
  await app.register(metricsRoutes)

  const response = await app.inject('/metrics')

  t.equal(response.statusCode, 200)
  t.match(response.headers['content-type'], /^text\/plain; version=0\.0\.4/)
  t.match(response.body, /^process_cpu_user_seconds_total /m)
  t.match(response.body, /^# TYPE twofa_http_request_duration_seconds histogram$/m)
})

t.test('a request is timed under its route pattern, method and status', async (t) => {
  const app = build(t)
  const labels = { method: 'GET', route: '/things/:id', status_code: '200' }

  const grew = await growth('twofa_http_request_duration_seconds_count', labels, async () => {
    await app.inject('/things/1')
    await app.inject('/things/2')
  })

  t.equal(grew, 2, 'two observations, one series, not one per path')
})

t.test('a refusal is counted by route and error code', async (t) => {
  const app = build(t)
  const labels = { route: '/refused', status: '403', error: 'forbidden' }

  t.equal(await growth('twofa_http_refusals_total', labels, async () => {
    await app.inject('/refused')
  }), 1)
})

t.test('a refusal on an internal route is not counted: ' +
  'the public route that made the call counts it', async (t) => {
  const app = build(t)
  app.post('/internal/checks', async () => { throw commonErrors.forbidden() })
  const labels = { route: '/internal/checks', status: '403', error: 'forbidden' }
  const timed = { method: 'POST', route: '/internal/checks', status_code: '403' }

  const counted = await growth('twofa_http_refusals_total', labels, async () => {
    t.equal((await app.inject({ method: 'POST', url: '/internal/checks' })).statusCode, 403)
  })

  t.equal(counted, 0)
  t.equal(await valueOf('twofa_http_request_duration_seconds_count', timed), 1, 'still timed')
})

t.test('a path that matches no route is counted once under "unmatched"', async (t) => {
  const app = build(t)
  const labels = { route: 'unmatched', status: '404', error: 'not_found' }

  t.equal(await growth('twofa_http_refusals_total', labels, async () => {
    await app.inject('/nothing/here')
  }), 1)
})

t.test('published verification events are counted by method, purpose and outcome', async (t) => {
  const grew = async (outcome: string, event: Envelope) => await growth(
    'twofa_verifications_total',
    { method: 'totp', purpose: 'login', outcome },
    async () => { await published([event]) }
  )
  const base = { user_id: 'u1', method: 'totp', purpose: 'login' } as const

  t.equal(await grew('success',
    createEnvelope('twofactor.verification.succeeded', base)), 1)
  t.equal(await grew('invalid_code',
    createEnvelope('twofactor.verification.failed', { ...base, reason: 'invalid_code' })), 1)
  t.equal(await grew('replayed',
    createEnvelope('twofactor.verification.failed', { ...base, reason: 'replayed' })), 1)
})

t.test('a lockout and a used recovery code are counted from their events', async (t) => {
  const before = [
    await valueOf('twofa_lockouts_total'),
    await valueOf('twofa_recovery_codes_used_total')
  ]

  await published([
    createEnvelope('twofactor.locked', { user_id: 'u1', until: '2030-01-01T00:00:00.000Z' }),
    createEnvelope('twofactor.recovery_code.used', { user_id: 'u1', remaining: 9 })
  ])

  t.equal(await valueOf('twofa_lockouts_total') - (before[0] as number), 1)
  t.equal(await valueOf('twofa_recovery_codes_used_total') - (before[1] as number), 1)
})

t.test('a publish the bus refuses is counted as a failure of its type', async (t) => {
  const bus = new MemoryBus()
  await bus.close()

  const grew = await growth('twofa_event_publish_failures_total', { type: 'user.deleted' },
    async () => {
      await t.rejects(bus.publish(createEnvelope('user.deleted', { user_id: 'u1' })))
    })

  t.equal(grew, 1)
})

const amqp = await amqpBacking()
t.teardown(amqp.stop)

t.test('on RabbitMQ a handler that keeps failing is counted as retried, ' +
  'redelivered and dead-lettered', { skip: skipWithout(amqp) }, async (t) => {
  const backing = present(amqp)
  const name = uniqueName('metrics')
  const consumer = `${name}_c`
  const bus = await AmqpBus.connect({
    url: backing.url,
    exchange: `${name}.events`,
    queuePrefix: `${name}.`
  }, pino({ level: 'silent' }))
  t.teardown(async () => {
    await bus.close()
    await deleteAmqpTopology(backing.url, [`${name}.events`, `${name}.events.dlx`],
      [`${name}.${consumer}`, `${name}.${consumer}.dead`])
  })
  await bus.subscribe({
    consumer,
    types: ['user.deleted'],
    handler: async () => { throw new Error('broken handler') }
  })

  await bus.publish(createEnvelope('user.deleted', { user_id: 'u1' }))
  const deadline = Date.now() + 10_000
  const deadLettered = { consumer, outcome: 'dead_lettered' }
  while (await valueOf('twofa_event_deliveries_total', deadLettered) < 1) {
    if (Date.now() > deadline) throw new Error('the event was not dead-lettered')
    await new Promise((resolve) => setTimeout(resolve, 20))
  }

  t.equal(await valueOf('twofa_event_deliveries_total', { consumer, outcome: 'retried' }), 1)
  t.equal(await valueOf('twofa_event_redeliveries_total', { consumer }), 1)
  t.equal(await valueOf('twofa_event_deliveries_total', { consumer, outcome: 'handled' }), 0)
})
