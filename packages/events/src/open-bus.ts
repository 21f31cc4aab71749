import type { Logger } from 'pino'
import { AmqpBus, type AmqpBusSettings } from './amqp-bus.js'
import type { EventBus } from './bus.js'
import { MemoryBus } from './memory-bus.js'

/**
 * Opens the bus an address names: RabbitMQ for amqp(s)://, the in-memory
 * stand-in for memory://. The stand-in only connects services inside one
 * process, which the log says.
 */
export async function openBus (settings: AmqpBusSettings, log: Logger): Promise<EventBus> {
  if (settings.url.startsWith('memory:')) {
    log.warn('using the in-memory event bus (AMQP_URL=memory://): events reach only this process')
    return new MemoryBus()
  }
  return await AmqpBus.connect(settings, log)
}
