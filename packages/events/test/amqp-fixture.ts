import type { Test } from 'tap'
import { connect, type Channel, type ChannelModel } from 'amqplib'
import { pino } from 'pino'
import { LogCapture, present, uniqueName, type Backing, type Unavailable } from '@twofa/testing'
import { AmqpBus, type AmqpBusSettings } from '../src/amqp-bus.js'

export interface Fixture {
  bus: AmqpBus
  settings: { url: string, exchange: string, queuePrefix: string }
  /** Runs one step on a channel of its own, on a connection of the test's own. */
  withChannel: WithChannel
  logs: LogCapture
}

export type WithChannel = <T>(step: (channel: Channel) => Promise<T>) => Promise<T>

/**
 * Runs each step on a channel of its own on `model`: a broker error (a
 * missing queue, say) closes only that channel, not the connection.
 */
export function channelRunner (model: ChannelModel): WithChannel {
  return async (step) => {
    const channel = await model.createChannel()
    channel.on('error', () => {})
    try {
      return await step(channel)
    } finally {
      await channel.close().catch(() => {})
    }
  }
}

/**
 * A RabbitMQ bus with names no other run uses, for a test declared with
 * `skip: skipWithout(amqp)`. When the test ends it is closed, and the queues
 * of `consumers` and both exchanges are deleted.
 */
export async function amqpFixture (
  t: Test,
  amqp: Backing | Unavailable,
  consumers: string[],
  overrides: Partial<AmqpBusSettings> = {}
): Promise<Fixture> {
  const backing = present(amqp)
  const name = uniqueName('bus')
  const settings = { url: backing.url, exchange: `${name}.events`, queuePrefix: `${name}.` }
  const logs = new LogCapture()
  const bus = await AmqpBus.connect({ ...settings, ...overrides }, pino({ level: 'info' }, logs))
  const admin: ChannelModel = await connect(backing.url)

  const withChannel = channelRunner(admin)

  t.teardown(async () => {
    await bus.close()
    await withChannel(async (channel) => {
      for (const consumer of consumers) {
        await channel.deleteQueue(`${settings.queuePrefix}${consumer}`)
        await channel.deleteQueue(`${settings.queuePrefix}${consumer}.dead`)
      }
      await channel.deleteExchange(settings.exchange)
      await channel.deleteExchange(`${settings.exchange}.dlx`)
    })
    await admin.close()
  })
  return { bus, settings, withChannel, logs }
}

/** Messages ready in a queue (not those delivered and not yet settled). */
export async function readyCount (fixture: Fixture, queue: string): Promise<number> {
  const check = await fixture.withChannel(async (channel) => await channel.checkQueue(queue))
  return check.messageCount
}
