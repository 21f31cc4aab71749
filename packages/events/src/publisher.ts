import type { Logger } from 'pino'
import { createEnvelope, type Envelope, type EventData, type EventType } from './contract.js'
import type { EventBus } from './bus.js'

export interface PublisherSettings {
  /**
   * Most events held while the broker is unreachable; older ones are kept,
   * newer ones dropped and logged.
   */
  maxPending?: number
  retryDelayMs?: number
}

/**
 * Publishes events without making a request wait on the broker. `emit`
 * queues the event and returns; a background loop publishes in order, waits
 * for each confirm, and retries with backoff while the broker is away, so an
 * outage delays events instead of failing requests or losing them (within
 * `maxPending`, and within the life of the process).
 */
export class EventPublisher {
  private readonly pending: Envelope[] = []
  private readonly maxPending: number
  private readonly retryDelayMs: number
  private running: Promise<void> | null = null
  private timer: NodeJS.Timeout | null = null
  private failures = 0

  constructor (
    private readonly bus: EventBus,
    private readonly log: Logger,
    settings: PublisherSettings = {}
  ) {
    this.maxPending = settings.maxPending ?? 10_000
    this.retryDelayMs = settings.retryDelayMs ?? 500
  }

  /** Queues an event for publishing and returns at once. */
  emit<T extends EventType> (type: T, data: EventData<T>): Envelope<T> {
    const event = createEnvelope(type, data)

    if (this.pending.length >= this.maxPending) {
      this.log.error(
        { event_id: event.id, event_type: type },
        'event dropped: too many events waiting for the broker'
      )
      return event
    }

    this.pending.push(event)
    this.kick()
    return event
  }

  /** Number of events not yet confirmed by the broker. */
  get backlog (): number {
    return this.pending.length
  }

  /** Publishes what is queued, giving up after `timeoutMs`; for shutdown and tests. */
  async flush (timeoutMs = 5000): Promise<boolean> {
    const deadline = Date.now() + timeoutMs
    while (this.pending.length > 0 && Date.now() < deadline) {
      if (this.timer) {
        clearTimeout(this.timer)
        this.timer = null
      }
      this.kick()
      await this.running
      if (this.pending.length > 0) await new Promise((resolve) => setTimeout(resolve, 50))
    }
    return this.pending.length === 0
  }

  private kick (): void {
    if (this.running || this.timer) return
    this.running = this.drain().finally(() => { this.running = null })
  }

  private async drain (): Promise<void> {
    while (this.pending.length > 0) {
      const event = this.pending[0] as Envelope
      try {
        await this.bus.publish(event)
      } catch (error) {
        this.failures++
        if (this.failures === 1) {
          this.log.warn(
            { err: error, backlog: this.pending.length },
            'event publish failed; will retry'
          )
        }
        const delay = Math.min(this.retryDelayMs * 2 ** Math.min(this.failures - 1, 4), 10_000)
        this.timer = setTimeout(() => {
          this.timer = null
          this.kick()
        }, delay)
        this.timer.unref()
        return
      }

      this.pending.shift()
      if (this.failures > 0) this.log.info('event publishing resumed')
      this.failures = 0
      this.log.debug({ event_id: event.id, event_type: event.type }, 'event published')
    }
  }
}
