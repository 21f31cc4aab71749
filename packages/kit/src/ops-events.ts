import type { Logger } from 'pino'
import {
  createEnvelope,
  replayDeadLetters,
  type DeadLetterSettings,
  type EventBus,
  type EventData,
  type EventType
} from '@twofa/events'
import type { OpsCommand } from './ops.js'

/** What every service's ops commands have: a log, the broker, and a way to announce. */
export interface OpsBase {
  log: Logger
  amqp: DeadLetterSettings
  /** Publishes an event about what a command did, and waits for the broker's confirm. */
  announce: <T extends EventType>(type: T, data: EventData<T>) => Promise<void>
}

/** `announce` on a bus: one event, published and confirmed before the command reports. */
export function announcer (bus: EventBus, log: Logger): OpsBase['announce'] {
  return async (type, data) => {
    const event = createEnvelope(type, data)
    await bus.publish(event)
    log.info({ event_id: event.id, event_type: type }, 'event published')
  }
}

/** The command that moves one consumer's dead letters back to the event exchange. */
export function replayCommand<C extends OpsBase> (consumer: string): OpsCommand<C> {
  return {
    summary: `Moves the ${consumer} consumer's dead-lettered events back to the exchange.`,
    usage: '[--limit N]',
    options: { limit: 'count' },
    // Dead letters live in RabbitMQ.
    stores: ['AMQP_URL'],
    run: async (ops, args, say) => {
      const result = await replayDeadLetters(ops.amqp, consumer, {
        limit: args.get('limit') === undefined ? undefined : args.count('limit', 1),
        onProgress: (progress) => say(`${progress.replayed} of ${progress.total} replayed`)
      })
      ops.log.info({ ...result, consumer }, 'dead letters replayed')
      await ops.announce('ops.dead_letters_replayed', {
        consumer,
        replayed: result.replayed,
        left: result.left
      })

      const kept = result.kept > 0 ? ` (${result.kept} that no queue would take)` : ''
      const left = `${result.left} left there${kept}`
      say(`done: ${result.replayed} replayed from ${result.queue}, ${left}`)
      return result.kept > 0 ? 1 : 0
    }
  }
}
