import t from 'tap'
import { pino } from 'pino'
import { LogCapture } from '@twofa/testing'
import type { EventBus, Subscription } from '../src/bus.js'
import type { Envelope } from '../src/contract.js'
import { MemoryBus } from '../src/memory-bus.js'
import { EventPublisher } from '../src/publisher.js'
import { recorder, waitFor } from './bus-contract.js'

/**
 * The in-memory bus behind a switch, standing for a broker that goes away
 * and comes back. (The same outage against RabbitMQ is in amqp-bus.test.ts.)
 */
class SwitchedBus implements EventBus {
  down = false
  attempts = 0
  readonly inner = new MemoryBus()

  async publish (event: Envelope): Promise<void> {
    this.attempts++
    if (this.down) throw new Error('broker connection is down')
    await this.inner.publish(event)
  }

  async subscribe (subscription: Subscription): Promise<void> {
    await this.inner.subscribe(subscription)
  }

  isReady (): boolean {
    return !this.down
  }

  async close (): Promise<void> {
    await this.inner.close()
  }
}

async function setup (settings: { maxPending?: number } = {}) {
  const bus = new SwitchedBus()
  const audit = recorder()
  await bus.subscribe({ consumer: 'audit', types: ['user.created'], handler: audit.handler })
  const logs = new LogCapture()
  const publisher = new EventPublisher(
    bus,
    pino({ level: 'info' }, logs),
    { retryDelayMs: 10, ...settings }
  )
  return { bus, audit, logs, publisher }
}

function created (publisher: EventPublisher, n: number): Envelope {
  return publisher.emit('user.created', { user_id: `u${n}`, email: `u${n}@example.com` })
}

t.test('emit returns the event at once, and the bus gets it afterwards', async (t) => {
  const { bus, audit, publisher } = await setup()

  const event = created(publisher, 1)

  t.equal(publisher.backlog, 1)
  t.ok(await publisher.flush())
  await bus.inner.drain()
  t.same(audit.received.map((received) => received.id), [event.id])
})

t.test('events are published in the order they were emitted', async (t) => {
  const { bus, audit, publisher } = await setup()

  const events = [1, 2, 3, 4].map((n) => created(publisher, n))
  await publisher.flush()
  await bus.inner.drain()

  t.same(audit.received.map((event) => event.id), events.map((event) => event.id))
})

t.test('events emitted while the bus is down are kept, ' +
  'retried, and delivered in order when it is back', async (t) => {
  const { bus, audit, publisher } = await setup()
  bus.down = true

  const events = [1, 2, 3].map((n) => created(publisher, n))
  await waitFor('a few retries', () => bus.attempts >= 3)
  t.equal(publisher.backlog, 3)
  bus.down = false
  await waitFor('the backlog to clear', () => publisher.backlog === 0)
  await bus.inner.drain()

  t.same(audit.received.map((event) => event.id), events.map((event) => event.id))
})

t.test('an outage is logged once when it starts and once when it ends', async (t) => {
  const { bus, logs, publisher } = await setup()
  bus.down = true

  created(publisher, 1)
  await waitFor('several retries', () => bus.attempts >= 4)
  bus.down = false
  await publisher.flush()

  const messages = logs.entries().map((entry) => entry.msg)
  t.equal(messages.filter((msg) => msg === 'event publish failed; will retry').length, 1)
  t.equal(messages.filter((msg) => msg === 'event publishing resumed').length, 1)
})

t.test('beyond the limit, ' +
  'new events are dropped and logged while the older ones are kept', async (t) => {
  const { bus, audit, logs, publisher } = await setup({ maxPending: 2 })
  bus.down = true

  const kept = [created(publisher, 1), created(publisher, 2)]
  const dropped = created(publisher, 3)
  bus.down = false
  await publisher.flush()
  await bus.inner.drain()

  t.same(audit.received.map((event) => event.id), kept.map((event) => event.id))
  t.match(logs.entries().find((entry) => entry.event_id === dropped.id), {
    level: 50,
    msg: 'event dropped: too many events waiting for the broker'
  })
})

t.test('flush gives up after its time limit while the bus stays down', async (t) => {
  const { bus, publisher } = await setup()
  bus.down = true
  created(publisher, 1)

  t.equal(await publisher.flush(200), false)
  t.equal(publisher.backlog, 1)
})
