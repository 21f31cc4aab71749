import t from 'tap'
import { pino } from 'pino'
import type { EventBus } from '../src/bus.js'
import { createEnvelope, type Envelope } from '../src/contract.js'
import { MemoryBus } from '../src/memory-bus.js'
import { OutboxRelay, outboxRecord, type OutboxEntry, type OutboxSource } from '../src/outbox.js'

const log = pino({ level: 'silent' })

/** An outbox held in an array, as a store keeps it beside its documents. */
class ArrayOutbox implements OutboxSource {
  entries: OutboxEntry[] = []

  add (owner: string, event: Envelope | string): void {
    this.entries.push({ owner, raw: typeof event === 'string' ? event : outboxRecord(event) })
  }

  async pending (limit: number): Promise<OutboxEntry[]> {
    return this.entries.slice(0, limit)
  }

  async done (entry: OutboxEntry): Promise<void> {
    this.entries = this.entries.filter((e) => e.raw !== entry.raw)
  }
}

function userDeleted (id: string): Envelope {
  return createEnvelope('user.deleted', { user_id: id })
}

/** A bus that refuses while `down` is set, like a broker that cannot be reached. */
class FlakyBus implements EventBus {
  down = false
  readonly published: Envelope[] = []
  async publish (event: Envelope): Promise<void> {
    if (this.down) throw new Error('broker unreachable')
    this.published.push(event)
  }

  async subscribe (): Promise<void> {}
  isReady (): boolean { return !this.down }
  async close (): Promise<void> {}
}

t.test('the relay publishes stored events ' +
  'and removes each one after the bus took it', async (t) => {
  const outbox = new ArrayOutbox()
  const bus = new MemoryBus()
  const seen: string[] = []
  const handler = async (e: Envelope) => { seen.push(e.id) }
  await bus.subscribe({ consumer: 'c', types: ['user.deleted'], handler })
  const events = [userDeleted('a'), userDeleted('b'), userDeleted('c')]
  for (const event of events) outbox.add('owner', event)

  const relay = new OutboxRelay(outbox, bus, log)
  t.ok(await relay.flush())
  await bus.drain()

  t.same(seen, events.map((e) => e.id), 'in the order they were stored')
  t.same(outbox.entries, [])
})

t.test('while the bus is down events stay in the outbox; ' +
  'they go out when it returns', async (t) => {
  const outbox = new ArrayOutbox()
  const bus = new FlakyBus()
  const relay = new OutboxRelay(outbox, bus, log)
  bus.down = true
  outbox.add('u1', userDeleted('u1'))

  t.notOk(await relay.pass())
  t.equal(outbox.entries.length, 1, 'kept')

  bus.down = false
  t.ok(await relay.pass())
  t.equal(bus.published.length, 1)
  t.same(outbox.entries, [])
})

t.test('an owner whose event failed keeps its later events back, so its order holds', async (t) => {
  const outbox = new ArrayOutbox()
  let refuse = 'first'
  const published: string[] = []
  const bus: EventBus = {
    publish: async (event) => {
      if ((event.data as { user_id: string }).user_id === refuse) throw new Error('nacked')
      published.push((event.data as { user_id: string }).user_id)
    },
    subscribe: async () => {},
    isReady: () => true,
    close: async () => {}
  }
  outbox.add('x', userDeleted('first'))
  outbox.add('x', userDeleted('second'))
  outbox.add('y', userDeleted('other'))

  const relay = new OutboxRelay(outbox, bus, log)
  await relay.pass()
  t.same(published, ['other'], 'x waits behind its refused event; y goes')

  refuse = ''
  await relay.flush()
  t.same(published, ['other', 'first', 'second'])
})

t.test('a stored record that breaks the contract is dropped, not retried forever', async (t) => {
  const outbox = new ArrayOutbox()
  const bus = new FlakyBus()
  outbox.add('z', '{"not":"an envelope"}')
  outbox.add('z', userDeleted('z'))

  const relay = new OutboxRelay(outbox, bus, log)
  t.ok(await relay.flush())
  t.equal(bus.published.length, 1)
  t.same(outbox.entries, [])
})

t.test('a started relay empties the outbox by itself, and stops when asked', async (t) => {
  const outbox = new ArrayOutbox()
  const bus = new FlakyBus()
  const relay = new OutboxRelay(outbox, bus, log, { intervalMs: 20 })
  relay.start()
  outbox.add('w', userDeleted('w'))

  const deadline = Date.now() + 2000
  while (outbox.entries.length > 0 && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
  t.same(outbox.entries, [])

  await relay.stop()
  outbox.add('w', userDeleted('later'))
  await new Promise((resolve) => setTimeout(resolve, 100))
  t.equal(outbox.entries.length, 1, 'nothing moves after stop')
})
