import type { Envelope } from './contract.js'
import type { EventBus, Subscription } from './bus.js'

const MAX_ATTEMPTS = 2

/**
 * The in-memory stand-in for RabbitMQ, for the one-process quick start. It
 * keeps the broker's promises that services rely on: every subscribed
 * consumer gets its own copy, delivery is asynchronous, a failing handler is
 * retried once and then the message goes to the dead letters.
 */
export class MemoryBus implements EventBus {
  readonly deadLetters: Array<{ consumer: string, event: Envelope }> = []
  private readonly subscriptions: Subscription[] = []
  private readonly inFlight = new Set<Promise<void>>()
  private closed = false

  async publish (event: Envelope): Promise<void> {
    if (this.closed) throw new Error('bus is closed')

    for (const subscription of this.subscriptions) {
      if (!subscription.types.includes(event.type)) continue
      // A copy, as a broker would deliver: handlers cannot change each other's view.
      const copy = structuredClone(event)
      const delivery = this.deliver(subscription, copy)
      this.inFlight.add(delivery)
      void delivery.finally(() => this.inFlight.delete(delivery))
    }
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

  private async deliver (subscription: Subscription, event: Envelope): Promise<void> {
    await new Promise((resolve) => setImmediate(resolve))

    for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
      try {
        await subscription.handler(event)
        return
      } catch {
        if (attempt === MAX_ATTEMPTS) this.deadLetters.push({ consumer: subscription.consumer, event })
      }
    }
  }
}
