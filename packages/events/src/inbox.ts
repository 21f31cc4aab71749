import type { Envelope } from './contract.js'
import type { EventHandler } from './bus.js'

/**
 * Remembers which events a consumer has already handled. Delivery is at least
 * once, so the same event can arrive twice; the inbox makes the second arrival
 * a no-op.
 */
export interface Inbox {
  /** True when this consumer already finished handling the event. */
  seen: (consumer: string, eventId: string) => Promise<boolean>
  /** Records that this consumer finished handling the event. */
  record: (consumer: string, eventId: string) => Promise<void>
}

/**
 * Wraps a handler so it runs once per event id. The record is written after
 * the handler succeeds: a crash in between means the handler runs again on
 * redelivery, so handlers are also written to be safe to repeat.
 *
 * Copies of one event that arrive while it is being handled (the broker
 * delivers several messages at once) wait for that attempt and then look at
 * the inbox, instead of all finding it empty. This holds within one process;
 * across processes it rests on handlers being safe to repeat.
 */
export function once (inbox: Inbox, consumer: string, handler: EventHandler): EventHandler {
  const inFlight = new Map<string, Promise<void>>()

  return async (event: Envelope) => {
    const earlier = inFlight.get(event.id)
    const attempt = (async () => {
      await earlier?.catch(() => {})
      if (await inbox.seen(consumer, event.id)) return
      await handler(event)
      await inbox.record(consumer, event.id)
    })()

    inFlight.set(event.id, attempt)
    try {
      await attempt
    } finally {
      if (inFlight.get(event.id) === attempt) inFlight.delete(event.id)
    }
  }
}

/** The in-memory inbox, for the one-process start and for tests. */
export class MemoryInbox implements Inbox {
  private readonly records = new Set<string>()

  /** Keeps the newest `capacity` records; duplicates arrive soon after the original. */
  constructor (private readonly capacity = 100_000) {}

  async seen (consumer: string, eventId: string): Promise<boolean> {
    return this.records.has(`${consumer}:${eventId}`)
  }

  async record (consumer: string, eventId: string): Promise<void> {
    this.records.add(`${consumer}:${eventId}`)
    if (this.records.size > this.capacity) {
      const oldest = this.records.values().next().value
      if (oldest !== undefined) this.records.delete(oldest)
    }
  }
}
