import type { Logger } from 'pino'
import { openBus, type AmqpBusSettings, type EventBus } from '@twofa/events'
import { reach } from './backing.js'
import type { ReadinessCheck } from './health.js'

/** The event-bus settings of a service's config. */
export interface BusConfig {
  AMQP_URL: string
  AMQP_EXCHANGE: string
  AMQP_QUEUE_PREFIX: string
}

export function busSettingsOf (config: BusConfig): AmqpBusSettings {
  return {
    url: config.AMQP_URL,
    exchange: config.AMQP_EXCHANGE,
    queuePrefix: config.AMQP_QUEUE_PREFIX
  }
}

export interface ServiceBus {
  bus: EventBus
  /** Fails while the bus cannot publish (connection down, broker blocking). */
  check: ReadinessCheck
  /** Closes a bus the service opened; a shared one is closed by whoever opened it. */
  close: () => Promise<void>
}

/**
 * The bus a service publishes and consumes on: `shared` when the services
 * run in one process, else its own, opened from the config. A broker that
 * does not answer stops the start with a line that says so.
 */
export async function connectServiceBus (
  config: BusConfig,
  log: Logger,
  shared?: EventBus
): Promise<ServiceBus> {
  const bus = shared ?? await reach('RabbitMQ', config.AMQP_URL, async () =>
    await openBus(busSettingsOf(config), log))

  return {
    bus,
    check: {
      name: 'rabbitmq',
      check: async () => { if (!bus.isReady()) throw new Error('bus down') }
    },
    close: async () => { if (!shared) await bus.close() }
  }
}
