import t from 'tap'
import { amqpBacking, skipWithout } from '@twofa/testing'
import { createEnvelope } from '../src/contract.js'
import { replayDeadLetters } from '../src/dead-letters.js'
import { amqpFixture, readyCount, type Fixture } from './amqp-fixture.js'
import { waitFor } from './bus-contract.js'

const amqp = await amqpBacking()
const noAmqp = skipWithout(amqp)
t.teardown(amqp.stop)

/** A consumer whose handler always fails, so each event it gets ends in its dead letters. */
async function failingConsumer (fixture: Fixture, consumer: string): Promise<void> {
  await fixture.bus.subscribe({
    consumer,
    types: ['user.deleted'],
    handler: async () => { throw new Error('handler is broken') }
  })
}

t.test('replay moves dead letters back to the exchange ' +
  'under their event type', { skip: noAmqp }, async (t) => {
  const fixture = await amqpFixture(t, amqp, ['broken'])
  await failingConsumer(fixture, 'broken')
  const event = createEnvelope('user.deleted', { user_id: 'u1' })
  await fixture.bus.publish(event)
  const dead = `${fixture.settings.queuePrefix}broken.dead`
  await waitFor('the event to be dead-lettered', async () => await readyCount(fixture, dead) === 1)
  // With the consumer gone, a replayed message waits in its queue to be read here.
  await fixture.bus.close()

  const result = await replayDeadLetters(fixture.settings, 'broken')

  t.same(result, { queue: dead, replayed: 1, kept: 0, left: 0 })
  const replayed = await fixture.withChannel(async (channel) =>
    await channel.get(`${fixture.settings.queuePrefix}broken`, { noAck: true }))
  t.ok(replayed, 'the message is back in the consumer queue')
  if (replayed) {
    t.equal(replayed.properties.type, 'user.deleted')
    t.same(JSON.parse(replayed.content.toString('utf8')), event)
  }
})

t.test('replay leaves a dead letter that no queue would take ' +
  'where it is', { skip: noAmqp }, async (t) => {
  const fixture = await amqpFixture(t, amqp, ['broken'])
  await failingConsumer(fixture, 'broken')
  const dead = `${fixture.settings.queuePrefix}broken.dead`
  const orphan = createEnvelope('user.created', { user_id: 'u2', email: 'u2@example.com' })
  await fixture.withChannel(async (channel) => {
    channel.sendToQueue(dead, Buffer.from(JSON.stringify(orphan)), { type: 'user.created' })
  })
  await waitFor('the message to be in the queue', async () => await readyCount(fixture, dead) === 1)

  const result = await replayDeadLetters(fixture.settings, 'broken')

  t.same(result, { queue: dead, replayed: 0, kept: 1, left: 1 })
})

t.test('replay names the queue when the consumer never ran ' +
  'on the broker', { skip: noAmqp }, async (t) => {
  const fixture = await amqpFixture(t, amqp, [])

  await t.rejects(replayDeadLetters(fixture.settings, 'absent'), {
    message: /no queue .*absent\.dead: the absent consumer never ran/
  })
})
