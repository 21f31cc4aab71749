import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import t, { type Test } from 'tap'
import { connect, type Channel, type ChannelModel } from 'amqplib'
import { pino } from 'pino'
import {
  amqpBacking,
  LogCapture,
  openTcpLink,
  present,
  programMissing,
  skipWithout,
  uniqueName,
  type TcpLink
} from '@twofa/testing'
import { AmqpBus, type AmqpBusSettings } from '../src/amqp-bus.js'
import type { EventBus } from '../src/bus.js'
import { createEnvelope, type Envelope } from '../src/contract.js'
import { EventPublisher } from '../src/publisher.js'
import { channelRunner, type WithChannel } from './amqp-fixture.js'
import { busContract, recorder, waitFor } from './bus-contract.js'

const run = promisify(execFile)

const amqp = await amqpBacking()
const noAmqp = skipWithout(amqp)
/** The tests that close a connection from the broker's side do it with rabbitmqctl. */
const noRabbitmqctl = noAmqp || programMissing('rabbitmqctl', 'apt-get install -y rabbitmq-server')
const admin = 'url' in amqp ? await connect(amqp.url) : null
t.teardown(async () => {
  await admin?.close()
  await amqp.stop()
})

/** Runs one step on a channel of this file's own connection (every test here skips without). */
const withChannel: WithChannel = async (step) => {
  if (!admin) throw new Error(`no connection to RabbitMQ: ${String(noAmqp)}`)
  return await channelRunner(admin)(step)
}

/**
 * A relay between a bus and the broker, so a test can cut the network for as
 * long as it needs (the broker itself stays up for everyone else).
 */
async function brokerLink (t: Test): Promise<TcpLink> {
  const link = await openTcpLink(present(amqp).url)
  t.teardown(async () => { await link.cut() })
  return link
}

/** Pids of the broker's connections with this client-provided name. */
async function connectionsNamed (name: string): Promise<string[]> {
  const { stdout } = await run('rabbitmqctl', [
    '-q', 'list_connections', '--no-table-headers', 'pid', 'client_properties'
  ])
  return stdout.split('\n')
    .filter((line) => line.includes(`"${name}"`))
    .map((line) => line.split('\t')[0] as string)
}

/** Closes the named connection from the broker's side, as an operator or a failover would. */
async function closeFromBroker (t: Test, name: string): Promise<void> {
  const pids = await connectionsNamed(name)
  t.equal(pids.length, 1, `one connection named ${name}`)
  for (const pid of pids) {
    await run('rabbitmqctl', ['-q', 'close_connection', pid, 'closed by a test'])
  }
}

interface OpenedBus {
  bus: AmqpBus
  logs: LogCapture
  name: string
}

/**
 * Opens a bus with names no other run uses, and when the test ends closes it
 * and deletes every queue and exchange it declared.
 */
async function openBus (t: Test, overrides: Partial<AmqpBusSettings> = {}): Promise<OpenedBus> {
  const name = uniqueName('bus')
  const logs = new LogCapture()
  const bus = await AmqpBus.connect({
    url: present(amqp).url,
    exchange: `${name}.events`,
    queuePrefix: `${name}.`,
    connectionName: name,
    ...overrides
  }, pino({ level: 'info' }, logs))

  const consumers = new Set<string>()
  const subscribe = bus.subscribe.bind(bus)
  bus.subscribe = async (subscription) => {
    consumers.add(subscription.consumer)
    await subscribe(subscription)
  }

  t.teardown(async () => {
    await bus.close()
    await withChannel(async (channel) => {
      for (const consumer of consumers) {
        await channel.deleteQueue(bus.queueName(consumer))
        await channel.deleteQueue(`${bus.queueName(consumer)}.dead`)
      }
      await channel.deleteExchange(`${name}.events`)
      await channel.deleteExchange(bus.deadLetterExchange)
    })
  })
  return { bus, logs, name }
}

/** Everything taken from the dead-letter queues so far, by queue. */
const deadLetters = new Map<string, unknown[]>()

async function readDeadLetters (bus: AmqpBus, consumer: string): Promise<unknown[]> {
  const queue = `${bus.queueName(consumer)}.dead`
  const letters = deadLetters.get(queue) ?? []
  deadLetters.set(queue, letters)

  await withChannel(async (channel) => {
    const next = async () => await channel.get(queue, { noAck: true })
    for (let message = await next(); message; message = await next()) {
      const body = message.content.toString('utf8')
      try {
        letters.push(JSON.parse(body))
      } catch {
        letters.push(body)
      }
    }
  })
  return letters
}

function userCreated (n = 1): Envelope<'user.created'> {
  return createEnvelope('user.created', { user_id: `u${n}`, email: `u${n}@example.com` })
}

function logged (logs: LogCapture, message: string): number {
  return logs.entries().filter((entry) => entry.msg === message).length
}

t.test('the RabbitMQ bus keeps the bus contract', { skip: noAmqp }, async (t) => {
  busContract(t, {
    open: async (t) => (await openBus(t)).bus,
    publishRaw: async (bus: EventBus, message) => {
      const amqp = bus as AmqpBus
      await withChannel(async (channel) => {
        const exchange = amqp.deadLetterExchange.replace(/\.dlx$/, '')
        channel.publish(exchange, message.type, Buffer.from(JSON.stringify(message)))
      })
    },
    deadLetters: async (bus: EventBus, consumer) => await readDeadLetters(bus as AmqpBus, consumer)
  })
})

t.test('a message that is not JSON is dead-lettered, not handled', { skip: noAmqp }, async (t) => {
  const { bus, name } = await openBus(t)
  const audit = recorder()
  await bus.subscribe({ consumer: 'audit', types: ['user.created'], handler: audit.handler })

  await withChannel(async (channel) => {
    channel.publish(`${name}.events`, 'user.created', Buffer.from('{"id": "truncated'))
  })
  await waitFor('the dead letter', async () => (await readDeadLetters(bus, 'audit')).length === 1)

  t.same(await readDeadLetters(bus, 'audit'), ['{"id": "truncated'])
  t.equal(audit.attempts.size, 0)
})

t.test('a published event is persistent ' +
  'and carries its id and type as message properties', { skip: noAmqp }, async (t) => {
  const { bus, name } = await openBus(t)
  const tap = uniqueName('tap')
  await withChannel(async (channel) => {
    await channel.assertQueue(tap, { exclusive: false, autoDelete: false })
    await channel.bindQueue(tap, `${name}.events`, '#')
  })
  t.teardown(async () => { await withChannel(async (channel) => await channel.deleteQueue(tap)) })
  const event = userCreated()

  await bus.publish(event)
  const message = await withChannel(async (channel) => await channel.get(tap, { noAck: true }))

  t.ok(message, 'the event was routed')
  if (!message) return
  t.match(message.properties, {
    deliveryMode: 2,
    messageId: event.id,
    type: 'user.created',
    contentType: 'application/json'
  })
  t.equal(message.fields.routingKey, 'user.created')
  t.same(JSON.parse(message.content.toString('utf8')), event)
})

t.test('after the broker closes its connection, ' +
  'the bus consumes and publishes again', { skip: noRabbitmqctl }, async (t) => {
  const { bus, logs, name } = await openBus(t)
  const audit = recorder()
  await bus.subscribe({ consumer: 'audit', types: ['user.created'], handler: audit.handler })

  await closeFromBroker(t, name)
  await waitFor('the reconnect', () => logged(logs, 'amqp connection restored') === 1)
  await bus.publish(userCreated())
  await waitFor('the event after the reconnect', () => audit.received.length === 1)

  t.ok(bus.isReady())
  t.equal((await connectionsNamed(name)).length, 1, 'one connection, the new one')
})

t.test('after reconnecting, the bus declares again ' +
  'what was deleted while it was away', { skip: noRabbitmqctl }, async (t) => {
  const { bus, logs, name } = await openBus(t)
  const audit = recorder()
  const failing = recorder(() => true)
  await bus.subscribe({ consumer: 'audit', types: ['user.created'], handler: audit.handler })
  await bus.subscribe({ consumer: 'failing', types: ['user.created'], handler: failing.handler })

  // Deleting the exchanges also deletes every binding to them.
  await withChannel(async (channel) => {
    await channel.deleteExchange(`${name}.events`)
    await channel.deleteExchange(bus.deadLetterExchange)
  })
  await closeFromBroker(t, name)
  await waitFor('the reconnect', () => logged(logs, 'amqp connection restored') === 1)
  await bus.publish(userCreated())

  await waitFor('the event', () => audit.received.length === 1)
  await waitFor('the dead letter', async () => (await readDeadLetters(bus, 'failing')).length === 1)
  t.pass('exchanges, bindings and the dead-letter route are back')
})

t.test('a consumer whose queue is deleted by someone else ' +
  'consumes again', { skip: noAmqp }, async (t) => {
  const { bus, logs } = await openBus(t)
  const audit = recorder()
  await bus.subscribe({ consumer: 'audit', types: ['user.created'], handler: audit.handler })

  await withChannel(async (channel) => await channel.deleteQueue(bus.queueName('audit')))
  await waitFor('the re-consume', () =>
    logged(logs, 'amqp consumer cancelled by the broker; consuming again') === 1)
  // The queue is declared and bound again before consuming: wait until it is.
  await waitFor('the queue', async () => await withChannel(async (channel) => {
    const declared = await channel.checkQueue(bus.queueName('audit')).catch(() => null)
    return declared?.consumerCount === 1
  }))
  await bus.publish(userCreated())

  await waitFor('the event', () => audit.received.length === 1)
  t.equal(logged(logs, 'amqp connection restored'), 0, 'without a reconnect')
})

t.test('K22 a delivery in flight when the connection drops is settled once, ' +
  'and not on the new channel', { skip: noRabbitmqctl }, async (t) => {
  const { bus, logs, name } = await openBus(t)
  let release = (): void => {}
  const gate = new Promise<void>((resolve) => { release = resolve })
  const handled: Envelope[] = []
  let calls = 0
  await bus.subscribe({
    consumer: 'slow',
    types: ['user.created'],
    handler: async (event) => {
      calls++
      if (calls === 1) await gate
      handled.push(event)
    }
  })
  const first = userCreated(1)

  await bus.publish(first)
  await waitFor('the handler to start', () => calls === 1)
  await closeFromBroker(t, name)
  await waitFor('the redelivery on the new connection', () => handled.length === 1)
  release()
  await waitFor('the first handler to finish', () => handled.length === 2)
  const second = userCreated(2)
  await bus.publish(second)
  await waitFor('an event after the reconnect', () => handled.length === 3)

  t.same(handled.map((event) => event.id), [first.id, first.id, second.id])
  t.equal(logged(logs, 'amqp channel error'), 0, 'no channel was closed for a bad ack')
  t.equal(logged(logs, 'amqp connection restored'), 1, 'one reconnect only')
  const { messageCount } = await withChannel(async (channel) =>
    await channel.checkQueue(bus.queueName('slow')))
  t.equal(messageCount, 0)
})

t.test('K22 a handler that finishes while its channel is closing ' +
  'leaves the delivery to the broker', { skip: noAmqp }, async (t) => {
  const { bus, logs } = await openBus(t)
  let release = (): void => {}
  const gate = new Promise<void>((resolve) => { release = resolve })
  const handled: string[] = []
  let started = 0
  await bus.subscribe({
    consumer: 'slow',
    types: ['user.created'],
    handler: async (event) => {
      started++
      if (started === 1) await gate
      handled.push(event.id)
    }
  })
  const event = userCreated()
  await bus.publish(event)
  await waitFor('the handler to start', () => started === 1)

  // The bus closes its consumer channel itself when it cannot consume again
  // after a cancel; the handler finishes before the broker confirms the close.
  const channel = (bus as unknown as { consumer: Channel }).consumer
  channel.close().catch(() => {})
  release()
  await waitFor('the redelivery after the reconnect', () => handled.length === 2)

  t.same(handled, [event.id, event.id])
  t.equal(logged(logs, 'event handler failed'), 0, 'a refused ack is not a handler failure')
})

t.test('a publish while the connection is down rejects at once', { skip: noAmqp }, async (t) => {
  const link = await brokerLink(t)
  const { bus, logs } = await openBus(t, { url: link.url })

  await link.cut()
  await waitFor('the bus to notice', () => !bus.isReady())

  await t.rejects(bus.publish(userCreated()), /connection is down/)
  t.equal(logged(logs, 'amqp connection lost; reconnecting'), 1)
})

t.test('after a network outage the bus reconnects ' +
  'once the broker is reachable again', { skip: noAmqp }, async (t) => {
  const link = await brokerLink(t)
  const { bus, logs } = await openBus(t, { url: link.url })
  const audit = recorder()
  await bus.subscribe({ consumer: 'audit', types: ['user.created'], handler: audit.handler })

  await link.cut()
  await waitFor('the bus to notice', () => !bus.isReady())
  await new Promise((resolve) => setTimeout(resolve, 500))
  await link.open()
  await waitFor('the reconnect', () => bus.isReady())
  await bus.publish(userCreated())

  await waitFor('the event', () => audit.received.length === 1)
  t.equal(logged(logs, 'amqp connection restored'), 1)
})

t.test('a publish the broker refuses rejects, ' +
  'and the bus recovers', { skip: noAmqp }, async (t) => {
  const { bus, logs, name } = await openBus(t)
  const audit = recorder()
  await bus.subscribe({ consumer: 'audit', types: ['user.created'], handler: audit.handler })

  await withChannel(async (channel) => await channel.deleteExchange(`${name}.events`))
  await t.rejects(bus.publish(userCreated(1)))
  await waitFor('the reconnect', () => logged(logs, 'amqp connection restored') === 1)
  await bus.publish(userCreated(2))

  await waitFor('the event', () => audit.received.length === 1)
  t.match(audit.received[0]?.data, { user_id: 'u2' })
})

t.test('a reconnect that fails half-way leaves one connection, ' +
  'not several', { skip: noRabbitmqctl }, async (t) => {
  const link = await brokerLink(t)
  const { bus, logs, name } = await openBus(t, { url: link.url })
  await bus.subscribe({ consumer: 'audit', types: ['user.created'], handler: recorder().handler })

  // While the bus is away, someone declares its queue with other arguments:
  // declaring it again fails, after the connection and channels are up.
  await link.cut()
  await waitFor('the bus to notice', () => !bus.isReady())
  await withChannel(async (channel) => {
    await channel.deleteQueue(bus.queueName('audit'))
    await channel.assertQueue(bus.queueName('audit'), { durable: true })
  })
  await link.open()
  await waitFor('three failed attempts', () =>
    logs.entries().filter((entry) => entry.msg === 'amqp channel error').length >= 3)
  // Let the broker settle its count of connections.
  await new Promise((resolve) => setTimeout(resolve, 300))

  t.ok((await connectionsNamed(name)).length <= 1, 'at most the attempt in progress')
  await withChannel(async (channel) => await channel.deleteQueue(bus.queueName('audit')))
  await waitFor('the reconnect', () => bus.isReady())
  await new Promise((resolve) => setTimeout(resolve, 1500))
  t.equal((await connectionsNamed(name)).length, 1, 'exactly one connection once it works')
})

t.test('closing the bus while it reconnects ' +
  'leaves no connection behind', { skip: noRabbitmqctl }, async (t) => {
  const link = await brokerLink(t)
  const { bus, logs, name } = await openBus(t, { url: link.url })

  link.hold()
  await link.cut()
  await waitFor('the bus to notice', () => !bus.isReady())
  await link.open()
  await waitFor('a reconnect attempt', () =>
    logs.entries().some((entry) => entry.msg === 'amqp connection lost; reconnecting'))
  await new Promise((resolve) => setTimeout(resolve, 400))
  await bus.close()
  link.release()
  await new Promise((resolve) => setTimeout(resolve, 1000))

  t.same(await connectionsNamed(name), [])
  t.notOk(bus.isReady())
})

t.test('while the broker blocks publishers, ' +
  'publish rejects at once; it works again when unblocked', { skip: noAmqp }, async (t) => {
  const { bus } = await openBus(t)
  // A real memory alarm would block every publisher on this shared broker, so
  // the connection.blocked notification is delivered to the bus by hand.
  const model = (bus as unknown as { model: ChannelModel }).model

  model.emit('blocked', 'low on memory')

  t.notOk(bus.isReady())
  await t.rejects(bus.publish(userCreated()), /blocking publishers/)
  model.emit('unblocked')
  t.ok(bus.isReady())
  await bus.publish(userCreated())
})

t.test('a bus blocked when its connection dropped ' +
  'publishes again after reconnecting', { skip: noRabbitmqctl }, async (t) => {
  const { bus, logs, name } = await openBus(t)
  const model = (bus as unknown as { model: ChannelModel }).model

  model.emit('blocked', 'low on memory')
  await closeFromBroker(t, name)
  await waitFor('the reconnect', () => logged(logs, 'amqp connection restored') === 1)

  t.ok(bus.isReady())
  await bus.publish(userCreated())
})

t.test('K24 events emitted while the broker is unreachable ' +
  'are delivered once it is back', { skip: noAmqp }, async (t) => {
  const link = await brokerLink(t)
  const { bus } = await openBus(t, { url: link.url })
  const audit = recorder()
  await bus.subscribe({ consumer: 'audit', types: ['user.created'], handler: audit.handler })
  const publisher = new EventPublisher(bus, pino({ level: 'silent' }), { retryDelayMs: 50 })

  await link.cut()
  await waitFor('the bus to notice', () => !bus.isReady())
  const emitted = [1, 2, 3].map((n) =>
    publisher.emit('user.created', { user_id: `u${n}`, email: `u${n}@example.com` }))
  await new Promise((resolve) => setTimeout(resolve, 300))
  t.equal(publisher.backlog, 3, 'kept while the broker is away')
  await link.open()

  t.ok(await publisher.flush(10_000), 'flushed once the broker is back')
  await waitFor('three events', () => audit.received.length === 3)
  t.same(audit.received.map((event) => event.id), emitted.map((event) => event.id))
})

t.test('connect fails when the broker cannot be reached', { skip: noAmqp }, async (t) => {
  const link = await brokerLink(t)
  await link.cut()

  await t.rejects(AmqpBus.connect(
    { url: link.url, exchange: 'x', queuePrefix: 'x.' },
    pino({ level: 'silent' })
  ))
})
