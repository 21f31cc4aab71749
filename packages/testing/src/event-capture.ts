import { connect } from 'amqplib'

export interface CapturedEvent {
  id: string
  type: string
  data: Record<string, unknown>
}

export interface EventCapture {
  /** Waits for the next event of this type that has not been taken yet. */
  take: (type: string, timeoutMs?: number) => Promise<CapturedEvent>
  close: () => Promise<void>
}

/**
 * Listens on an event exchange for some event types, the way a consumer
 * would, through a queue of its own that the broker deletes with the
 * connection. Declares the exchange as the services do, so it can start
 * before them.
 */
export async function captureEvents (
  url: string,
  exchange: string,
  types: string[]
): Promise<EventCapture> {
  const model = await connect(url)
  const channel = await model.createChannel()
  await channel.assertExchange(exchange, 'topic', { durable: true })
  const { queue } = await channel.assertQueue('', { exclusive: true, autoDelete: true })
  for (const type of types) await channel.bindQueue(queue, exchange, type)

  const received: CapturedEvent[] = []
  await channel.consume(queue, (message) => {
    if (message) received.push(JSON.parse(message.content.toString('utf8')) as CapturedEvent)
  }, { noAck: true })

  return {
    take: async (type, timeoutMs = 10_000) => {
      const deadline = Date.now() + timeoutMs
      for (;;) {
        const index = received.findIndex((event) => event.type === type)
        if (index >= 0) return received.splice(index, 1)[0] as CapturedEvent
        if (Date.now() > deadline) throw new Error(`no ${type} event within ${timeoutMs} ms`)
        await new Promise((resolve) => setTimeout(resolve, 20))
      }
    },
    close: async () => { await model.close() }
  }
}
