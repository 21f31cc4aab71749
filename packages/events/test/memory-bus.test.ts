import t from 'tap'
import type { EventBus } from '../src/bus.js'
import { createEnvelope, type Envelope } from '../src/contract.js'
import { MemoryBus } from '../src/memory-bus.js'
import { busContract, recorder } from './bus-contract.js'

function memory (bus: EventBus): MemoryBus {
  return bus as MemoryBus
}

t.test('the in-memory bus keeps the bus contract', async (t) => {
  busContract(t, {
    open: async (t) => {
      const bus = new MemoryBus()
      t.teardown(async () => { await bus.close() })
      return bus
    },
    publishRaw: async (bus, message) => { await bus.publish(message as unknown as Envelope) },
    deadLetters: async (bus, consumer) => memory(bus).deadLetters
      .filter((letter) => letter.consumer === consumer)
      .map((letter) => letter.message)
  })
})

t.test('publish returns before any handler runs', async (t) => {
  const bus = new MemoryBus()
  const audit = recorder()
  await bus.subscribe({ consumer: 'audit', types: ['user.created'], handler: audit.handler })

  await bus.publish(createEnvelope('user.created', { user_id: 'u1', email: 'a@example.com' }))

  t.equal(audit.received.length, 0)
  await bus.drain()
  t.equal(audit.received.length, 1)
})

t.test('close waits for deliveries in flight', async (t) => {
  const bus = new MemoryBus()
  const audit = recorder()
  await bus.subscribe({ consumer: 'audit', types: ['user.created'], handler: audit.handler })
  await bus.publish(createEnvelope('user.created', { user_id: 'u1', email: 'a@example.com' }))

  await bus.close()

  t.equal(audit.received.length, 1)
})
