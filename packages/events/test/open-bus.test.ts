import t from 'tap'
import { connect } from 'amqplib'
import { pino } from 'pino'
import { amqpBacking, LogCapture, present, skipWithout, uniqueName } from '@twofa/testing'
import { AmqpBus } from '../src/amqp-bus.js'
import { MemoryBus } from '../src/memory-bus.js'
import { openBus } from '../src/open-bus.js'

t.test('memory:// opens the in-memory bus and says so in the log', async (t) => {
  const logs = new LogCapture()

  const bus = await openBus({ url: 'memory://', exchange: 'x', queuePrefix: 'x.' }, pino(logs))
  t.teardown(async () => { await bus.close() })

  t.type(bus, MemoryBus)
  t.match(logs.text(), /in-memory event bus/)
})

const amqp = await amqpBacking()
t.teardown(amqp.stop)

t.test('an amqp:// address opens the RabbitMQ bus', { skip: skipWithout(amqp) }, async (t) => {
  const backing = present(amqp)
  const name = uniqueName('open')

  const bus = await openBus(
    { url: backing.url, exchange: `${name}.events`, queuePrefix: `${name}.` },
    pino({ level: 'silent' })
  )
  t.teardown(async () => {
    await bus.close()
    const admin = await connect(backing.url)
    const channel = await admin.createChannel()
    await channel.deleteExchange(`${name}.events`)
    await channel.deleteExchange(`${name}.events.dlx`)
    await admin.close()
  })

  t.type(bus, AmqpBus)
  t.ok(bus.isReady())
})
