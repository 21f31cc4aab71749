import t from 'tap'
import { amqpBacking, skipWithout } from '@twofa/testing'
import { createEnvelope } from '../src/contract.js'
import { amqpFixture, readyCount } from './amqp-fixture.js'
import { waitFor } from './bus-contract.js'

const amqp = await amqpBacking()
const noAmqp = skipWithout(amqp)
t.teardown(amqp.stop)

t.test('close lets a handler that is running finish ' +
  'and acknowledge its message', { skip: noAmqp }, async (t) => {
  const fixture = await amqpFixture(t, amqp, ['slow'])
  let started = false
  let finished = false
  await fixture.bus.subscribe({
    consumer: 'slow',
    types: ['user.deleted'],
    handler: async () => {
      started = true
      await new Promise((resolve) => setTimeout(resolve, 300))
      finished = true
    }
  })
  await fixture.bus.publish(createEnvelope('user.deleted', { user_id: 'u1' }))
  await waitFor('the handler to start', () => started)

  await fixture.bus.close()

  t.ok(finished, 'close waited for the handler')
  t.equal(await readyCount(fixture, `${fixture.settings.queuePrefix}slow`), 0,
    'the message was acknowledged, not left for redelivery')
})

t.test('close stops waiting for a handler after drainTimeoutMs', { skip: noAmqp }, async (t) => {
  const fixture = await amqpFixture(t, amqp, ['stuck'], { drainTimeoutMs: 200 })
  let started = false
  await fixture.bus.subscribe({
    consumer: 'stuck',
    types: ['user.deleted'],
    handler: async () => {
      started = true
      await new Promise((resolve) => setTimeout(resolve, 5000))
    }
  })
  await fixture.bus.publish(createEnvelope('user.deleted', { user_id: 'u1' }))
  await waitFor('the handler to start', () => started)

  const began = Date.now()
  await fixture.bus.close()

  t.ok(Date.now() - began < 2000, `closed in ${Date.now() - began} ms`)
  await waitFor('the unsettled message to be ready again',
    async () => await readyCount(fixture, `${fixture.settings.queuePrefix}stuck`) === 1)
  t.pass('the broker keeps the message for the next consumer')
})
