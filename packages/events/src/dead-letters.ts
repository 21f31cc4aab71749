import { connect, type ConfirmChannel, type GetMessage } from 'amqplib'
import { parseEnvelope } from './contract.js'

export interface DeadLetterSettings {
  url: string
  /** The topic exchange events are published to. */
  exchange: string
  queuePrefix: string
}

export interface ReplayOptions {
  /** Most messages to move in this run; all that are there when it starts by default. */
  limit?: number
  /** Called every `progressEvery` messages and once at the end. */
  onProgress?: (progress: { replayed: number, kept: number, total: number }) => void
  progressEvery?: number
}

export interface ReplayResult {
  queue: string
  replayed: number
  /** Messages left in the dead-letter queue because no queue would take them again. */
  kept: number
  /** Messages in the dead-letter queue after the run. */
  left: number
}

/** The routing key a dead message was first published with. */
function routingKeyOf (message: GetMessage): string | null {
  const type: unknown = message.properties.type
  if (typeof type === 'string' && type) return type

  const deaths: unknown = message.properties.headers?.['x-death']
  const first = Array.isArray(deaths) ? deaths[0] as { 'routing-keys'?: unknown } : undefined
  const keys = first?.['routing-keys']
  if (Array.isArray(keys) && typeof keys[0] === 'string') return keys[0]

  try {
    return parseEnvelope(JSON.parse(message.content.toString('utf8')))?.type ?? null
  } catch {
    return null
  }
}

/** Publishes a copy with the original properties; resolves false when no queue took it. */
async function republish (
  channel: ConfirmChannel,
  exchange: string,
  routingKey: string,
  message: GetMessage
): Promise<boolean> {
  let returned = false
  const onReturn = (back: { properties: { messageId?: string } }): void => {
    if (back.properties.messageId === message.properties.messageId) returned = true
  }
  channel.on('return', onReturn)

  try {
    const { properties } = message
    channel.publish(exchange, routingKey, message.content, {
      mandatory: true,
      persistent: properties.deliveryMode === 2,
      messageId: properties.messageId,
      type: properties.type,
      contentType: properties.contentType,
      timestamp: properties.timestamp,
      headers: properties.headers
    })
    // The broker returns an unroutable message before it confirms it.
    await channel.waitForConfirms()
  } finally {
    channel.off('return', onReturn)
  }
  return !returned
}

/**
 * Moves the messages in a consumer's dead-letter queue (`<prefix><consumer>.dead`)
 * back to the event exchange with the routing key they were first published
 * with, so the consumers bound to it get them again; they are idempotent on
 * the event id, so one that already handled a copy does nothing.
 *
 * Only the messages there when the run starts are moved, so one that fails
 * again is not replayed in a loop. Each is removed from the dead-letter
 * queue only after the broker confirmed its copy: a crash in between leaves
 * a duplicate, never a loss, and a new run goes on from what is left.
 */
export async function replayDeadLetters (
  settings: DeadLetterSettings,
  consumer: string,
  options: ReplayOptions = {}
): Promise<ReplayResult> {
  const queue = `${settings.queuePrefix}${consumer}.dead`
  const every = options.progressEvery ?? 100
  const model = await connect(settings.url)

  try {
    const channel = await model.createConfirmChannel()
    // A missing queue or exchange closes the channel; the call below rejects with why.
    channel.on('error', () => {})
    await channel.checkExchange(settings.exchange)
    const { messageCount } = await channel.checkQueue(queue).catch((error: unknown) => {
      if ((error as { code?: unknown }).code !== 404) throw error
      throw new Error(
        `there is no queue ${queue}: the ${consumer} consumer never ran on this broker`
      )
    })
    const total = Math.min(messageCount, options.limit ?? messageCount)

    // Messages no queue would take are held unacknowledged, so the next get
    // moves on, and go back to the dead-letter queue when the channel closes.
    let replayed = 0
    let kept = 0
    for (let done = 0; done < total; done++) {
      const message = await channel.get(queue, { noAck: false })
      if (message === false) break

      const key = routingKeyOf(message)
      if (key !== null && await republish(channel, settings.exchange, key, message)) {
        channel.ack(message)
        replayed++
      } else {
        kept++
      }
      if ((done + 1) % every === 0) options.onProgress?.({ replayed, kept, total })
    }

    options.onProgress?.({ replayed, kept, total })
    await channel.close()

    const check = await model.createChannel()
    const left = (await check.checkQueue(queue)).messageCount
    await check.close()
    return { queue, replayed, kept, left }
  } finally {
    await model.close().catch(() => {})
  }
}
