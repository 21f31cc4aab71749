import { parseEnvelope, type Envelope } from './contract.js'
import type { EventBus, Subscription } from './bus.js'
import { reportDelivery, reportPublish } from './telemetry.js'

const MAX_ATTEMPTS = 2

/**
 * The in-memory stand-in for RabbitMQ, for the one-process quick start. It
 * keeps the broker's promises that services rely on: every subscribed
 * consumer gets its own copy, as JSON checked against the contract like a
 * message from the broker; delivery is asynchronous; a message that does not
 * match the contract, or whose handler fails twice, goes to the dead letters.
 */
export class MemoryBus implements EventBus {
  readonly deadLetters: Array<{ consumer: string, message: unknown }> = []
  private readonly subscriptions: Subscription[] = []
  private readonly inFlight = new Set<Promise<void>>()
  private closed = false

  async publish (event: Envelope): Promise<void> {
    if (this.closed) {
      reportPublish({ event, ok: false })
      throw new Error('bus is closed')
    }

    const body = JSON.stringify(event)
    for (const subscription of this.subscriptions) {
      if (!subscription.types.includes(event.type)) continue
      const delivery = this.deliver(subscription, body)
      this.inFlight.add(delivery)
      // deliver() settles every outcome itself, so this promise never rejects.
      delivery.finally(() => this.inFlight.delete(delivery)).catch(() => {})
    }
    reportPublish({ event, ok: true })
  }

  async subscribe (subscription: Subscription): Promise<void> {
    this.subscriptions.push(subscription)
  }

  isReady (): boolean {
    return !this.closed
  }

  /** Resolves when every delivery started so far has finished. */
  async drain (): Promise<void> {
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight])
  }

  async close (): Promise<void> {
    await this.drain()
    this.closed = true
  }

  private async deliver (subscription: Subscription, body: string): Promise<void> {
    await new Promise((resolve) => setImmediate(resolve))
    const { consumer } = subscription
    let redelivered = false

    for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
      redelivered = attempt > 1
      // Parsed afresh for each attempt, as a redelivered message would be.
      const event = parseEnvelope(JSON.parse(body))
      if (!event) break

      try {
        await subscription.handler(event)
        reportDelivery({ consumer, outcome: 'handled', redelivered })
        return
      } catch {
        // The next attempt follows; after the last, the dead letters.
        if (attempt < MAX_ATTEMPTS) reportDelivery({ consumer, outcome: 'retried', redelivered })
      }
    }
    this.deadLetters.push({ consumer, message: JSON.parse(body) })
    reportDelivery({ consumer, outcome: 'dead_lettered', redelivered })
  }
}
