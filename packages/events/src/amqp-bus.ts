import {
  connect,
  type Channel,
  type ChannelModel,
  type ConfirmChannel,
  type ConsumeMessage
} from 'amqplib'
import type { Logger } from 'pino'
import { parseEnvelope, type Envelope } from './contract.js'
import type { EventBus, Subscription } from './bus.js'
import { reportDelivery, reportPublish } from './telemetry.js'

export interface AmqpBusSettings {
  url: string
  /** Name of the topic exchange events are published to. */
  exchange: string
  /** Prefix of every queue this bus declares, so deployments and tests can share a broker. */
  queuePrefix: string
  /** Longest a publish waits for the broker's confirm before it fails. */
  confirmTimeoutMs?: number
  prefetch?: number
  /** How the connection is named in the broker's management tools. */
  connectionName?: string
  /** Longest `close` waits for handlers that are running to finish their message. */
  drainTimeoutMs?: number
}

const OUTCOMES = { ack: 'handled', retry: 'retried', dead: 'dead_lettered' } as const

/**
 * RabbitMQ behind the EventBus interface.
 *
 * Topology: one durable topic exchange; per consumer a durable queue bound to
 * the event types it handles, whose rejected messages go through a direct
 * dead-letter exchange to `<queue>.dead`. Messages are persistent and every
 * publish waits for the broker's confirm.
 *
 * Failure handling: every connection and channel has error and close
 * listeners; when the connection drops, the bus reconnects with backoff,
 * declares its topology again and consumes again. A delivery is acked or
 * nacked exactly once, on the channel it came from; one whose channel died is
 * left alone, because the broker delivers it again.
 */
export class AmqpBus implements EventBus {
  private readonly settings: Required<AmqpBusSettings>
  private readonly log: Logger
  private readonly subscriptions: Subscription[] = []
  private model: ChannelModel | null = null
  private publisher: ConfirmChannel | null = null
  private consumer: Channel | null = null
  private blocked = false
  private closing = false
  private reconnectTimer: NodeJS.Timeout | null = null
  private attempt = 0
  /** Consumer tags on the current consumer channel, so `close` can cancel them. */
  private consumerTags: string[] = []
  private readonly inFlight = new Set<Promise<void>>()

  private constructor (settings: AmqpBusSettings, log: Logger) {
    this.settings = {
      confirmTimeoutMs: 5000,
      prefetch: 10,
      connectionName: 'twofa',
      drainTimeoutMs: 5000,
      ...settings
    }
    this.log = log
  }

  /** Connects and declares the exchanges; fails if the broker cannot be reached now. */
  static async connect (settings: AmqpBusSettings, log: Logger): Promise<AmqpBus> {
    const bus = new AmqpBus(settings, log)
    await bus.open()
    return bus
  }

  get deadLetterExchange (): string {
    return `${this.settings.exchange}.dlx`
  }

  queueName (consumer: string): string {
    return `${this.settings.queuePrefix}${consumer}`
  }

  isReady (): boolean {
    return this.publisher !== null && this.consumer !== null && !this.blocked
  }

  async publish (event: Envelope): Promise<void> {
    try {
      await this.publishConfirmed(event)
    } catch (error) {
      reportPublish({ event, ok: false })
      throw error
    }
    reportPublish({ event, ok: true })
  }

  private async publishConfirmed (event: Envelope): Promise<void> {
    const channel = this.publisher
    if (!channel || this.blocked) {
      throw new Error(this.blocked ? 'broker is blocking publishers' : 'broker connection is down')
    }

    const content = Buffer.from(JSON.stringify(event))
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error('publish confirm timed out')),
        this.settings.confirmTimeoutMs
      )
      channel.publish(this.settings.exchange, event.type, content, {
        persistent: true,
        messageId: event.id,
        type: event.type,
        contentType: 'application/json',
        timestamp: Math.floor(Date.parse(event.occurred_at) / 1000)
      }, (error) => {
        clearTimeout(timer)
        if (error) reject(error instanceof Error ? error : new Error('publish was nacked'))
        else resolve()
      })
    })
  }

  async subscribe (subscription: Subscription): Promise<void> {
    this.subscriptions.push(subscription)
    if (this.consumer) await this.consume(this.consumer, subscription)
  }

  /**
   * Stops consuming, lets the handlers that are running finish and settle
   * their message (within `drainTimeoutMs`), then closes the connection.
   */
  async close (): Promise<void> {
    this.closing = true
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer)
    await this.stopConsuming()

    const model = this.model
    this.model = null
    this.publisher = null
    this.consumer = null
    if (model) await model.close().catch(() => {})
  }

  private async stopConsuming (): Promise<void> {
    const channel = this.consumer
    if (channel) {
      for (const tag of this.consumerTags) await channel.cancel(tag).catch(() => {})
    }

    let timer: NodeJS.Timeout | undefined
    const timeout = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, this.settings.drainTimeoutMs)
    })
    await Promise.race([Promise.allSettled([...this.inFlight]), timeout])
    clearTimeout(timer)

    // Closing the channel on its own sends the acks queued on it before the
    // connection goes; a connection closed at once can overtake them.
    if (channel) await channel.close().catch(() => {})
  }

  private async open (): Promise<void> {
    // A block belongs to the connection the broker imposed it on.
    this.blocked = false
    const model = await connect(this.settings.url, {
      clientProperties: { connection_name: this.settings.connectionName }
    })
    model.on('error', (error: Error) => this.log.warn({ err: error }, 'amqp connection error'))
    model.on('close', () => this.onConnectionLost(model))
    model.on('blocked', (reason: string) => {
      this.blocked = true
      this.log.warn({ reason }, 'amqp broker is blocking publishers')
    })
    model.on('unblocked', () => {
      this.blocked = false
      this.log.info('amqp broker unblocked publishers')
    })

    try {
      const publisher = await model.createConfirmChannel()
      this.watchChannel(publisher, 'publish', model)
      await publisher.assertExchange(this.settings.exchange, 'topic', { durable: true })
      await publisher.assertExchange(this.deadLetterExchange, 'direct', { durable: true })

      const consumer = await model.createChannel()
      this.watchChannel(consumer, 'consume', model)
      await consumer.prefetch(this.settings.prefetch)

      if (this.closing) throw new Error('the bus was closed while it connected')
      this.model = model
      this.publisher = publisher
      this.consumer = consumer
      this.consumerTags = []
      for (const subscription of this.subscriptions) await this.consume(consumer, subscription)
    } catch (error) {
      await model.close().catch(() => {})
      throw error
    }

    this.attempt = 0
  }

  /** A channel closing on its own means its state is unknown: start over. */
  private watchChannel (channel: Channel, role: string, model: ChannelModel): void {
    channel.on('error', (error: Error) => this.log.warn({ err: error, role }, 'amqp channel error'))
    channel.on('close', () => {
      if (this.closing || this.model !== model) return
      this.log.warn({ role }, 'amqp channel closed; reconnecting')
      model.close().catch(() => {})
      this.onConnectionLost(model)
    })
  }

  private onConnectionLost (model: ChannelModel): void {
    // Only the current connection starts a reconnect; a failed attempt
    // schedules its own retry.
    if (this.closing || this.model !== model) return

    this.model = null
    this.publisher = null
    this.consumer = null
    this.scheduleReconnect()
  }

  private scheduleReconnect (): void {
    // An attempt that fails once its channels are up is reported twice, by
    // the channel's close and by open() rejecting: one retry is enough.
    if (this.closing || this.reconnectTimer) return

    this.attempt++
    const delay = Math.min(200 * 2 ** (this.attempt - 1), 5000)
    if (this.attempt === 1) this.log.warn('amqp connection lost; reconnecting')

    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = null
      this.open().then(
        () => this.log.info('amqp connection restored'),
        (error: unknown) => {
          if (this.closing) return
          if (this.attempt % 10 === 1) {
            this.log.warn({ err: error, attempt: this.attempt }, 'amqp reconnect failed')
          }
          this.scheduleReconnect()
        }
      )
    }, delay)
    this.reconnectTimer.unref()
  }

  private async consume (channel: Channel, subscription: Subscription): Promise<void> {
    const queue = this.queueName(subscription.consumer)
    const deadQueue = `${queue}.dead`

    await channel.assertQueue(deadQueue, { durable: true })
    await channel.bindQueue(deadQueue, this.deadLetterExchange, queue)
    await channel.assertQueue(queue, {
      durable: true,
      arguments: {
        'x-dead-letter-exchange': this.deadLetterExchange,
        'x-dead-letter-routing-key': queue
      }
    })
    for (const type of subscription.types) {
      await channel.bindQueue(queue, this.settings.exchange, type)
    }

    const { consumerTag } = await channel.consume(queue, (message) => {
      if (message === null) {
        if (this.closing) return
        // The broker cancelled us (the queue was deleted): declare and consume again.
        this.log.warn({ queue }, 'amqp consumer cancelled by the broker; consuming again')
        if (this.consumer === channel) {
          this.consume(channel, subscription).catch((error: unknown) => {
            this.log.error({ err: error, queue }, 'amqp re-consume failed; reconnecting')
            channel.close().catch(() => {})
          })
        }
        return
      }
      const handling = this.handle(channel, subscription, message).catch((error: unknown) => {
        this.log.error({ err: error, queue }, 'amqp delivery failed')
      })
      this.inFlight.add(handling)
      handling.finally(() => this.inFlight.delete(handling)).catch(() => {})
    }, { noAck: false })
    if (this.consumer === channel) this.consumerTags.push(consumerTag)
  }

  private async handle (
    channel: Channel,
    subscription: Subscription,
    message: ConsumeMessage
  ): Promise<void> {
    const settle = (action: 'ack' | 'retry' | 'dead'): void => {
      // A delivery belongs to its channel; after that channel died the broker
      // redelivers it, and acking it here would close the new channel.
      if (this.consumer !== channel) return
      try {
        if (action === 'ack') channel.ack(message)
        else channel.nack(message, false, action === 'retry')
        reportDelivery({
          consumer: subscription.consumer,
          outcome: OUTCOMES[action],
          redelivered: message.fields.redelivered
        })
      } catch (error) {
        // The channel is closing: the broker will deliver the message again.
        this.log.warn(
          { err: error, consumer: subscription.consumer },
          'amqp delivery left unsettled'
        )
      }
    }

    let event: Envelope | null = null
    try {
      event = parseEnvelope(JSON.parse(message.content.toString('utf8')))
    } catch {
      event = null
    }

    if (!event) {
      this.log.warn(
        { consumer: subscription.consumer },
        'amqp message does not match the event contract; dead-lettered'
      )
      settle('dead')
      return
    }

    try {
      await subscription.handler(event)
    } catch (error) {
      const action = message.fields.redelivered ? 'dead' : 'retry'
      this.log.error({
        err: error,
        consumer: subscription.consumer,
        event_id: event.id,
        event_type: event.type,
        action
      }, 'event handler failed')
      settle(action)
      return
    }
    settle('ack')
  }
}
