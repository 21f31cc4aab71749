import type { Envelope, EventType } from './contract.js'

/** Handles one delivery. Throwing makes the bus retry it, then dead-letter it. */
export type EventHandler = (event: Envelope) => Promise<void>

export interface Subscription {
  /** Durable name of the consumer; one queue per consumer. */
  consumer: string
  types: EventType[]
  handler: EventHandler
}

/**
 * The message bus as the services see it. `publish` resolves only once the
 * broker has taken responsibility for the message (publisher confirm).
 */
export interface EventBus {
  publish: (event: Envelope) => Promise<void>
  subscribe: (subscription: Subscription) => Promise<void>
  /** True while the bus can publish and deliver. */
  isReady: () => boolean
  close: () => Promise<void>
}
