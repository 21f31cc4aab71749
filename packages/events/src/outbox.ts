import type { Logger } from 'pino'
import type { EventBus } from './bus.js'
import { parseEnvelope, type Envelope } from './contract.js'

/**
 * One event waiting in a store's outbox. It was written by the same atomic
 * update as the change it describes, so it exists exactly when the change
 * does, whatever happens to the process afterwards.
 */
export interface OutboxEntry {
  /** The document (owner) whose update wrote the event. */
  owner: string
  /** The envelope as stored, JSON: what `done` names to remove it. */
  raw: string
}

/** A store that keeps events beside the documents they describe. */
export interface OutboxSource {
  /** Some waiting events, each owner's in the order they were written. */
  pending: (limit: number) => Promise<OutboxEntry[]>
  /** Removes an event the broker has confirmed. */
  done: (entry: OutboxEntry) => Promise<void>
}

export interface RelaySettings {
  /** How often the outbox is looked at. */
  intervalMs?: number
  batch?: number
}

/**
 * Moves events from a store's outbox to the bus. Each event is published,
 * confirmed by the broker, and only then removed, so a crash at any point
 * means publishing it again, never losing it; consumers are idempotent on
 * the event id, so a second copy changes nothing. While the broker is away
 * the events wait in the store, which outlives the process.
 */
export class OutboxRelay {
  private readonly intervalMs: number
  private readonly batch: number
  private timer: NodeJS.Timeout | null = null
  private running: Promise<boolean> | null = null
  private failing = false
  private stopped = false

  constructor (
    private readonly source: OutboxSource,
    private readonly bus: EventBus,
    private readonly log: Logger,
    settings: RelaySettings = {}
  ) {
    this.intervalMs = settings.intervalMs ?? 250
    this.batch = settings.batch ?? 100
  }

  start (): void {
    this.stopped = false
    this.schedule()
  }

  /** Runs one pass now (or joins the one running); true when the outbox was emptied. */
  async pass (): Promise<boolean> {
    this.running ??= this.relay().finally(() => { this.running = null })
    return await this.running
  }

  /** Passes until the outbox is empty or `timeoutMs` runs out; for shutdown and tests. */
  async flush (timeoutMs = 5000): Promise<boolean> {
    const deadline = Date.now() + timeoutMs
    while (Date.now() < deadline) {
      if (await this.pass()) return true
      await new Promise((resolve) => setTimeout(resolve, 50))
    }
    return false
  }

  async stop (): Promise<void> {
    this.stopped = true
    if (this.timer) clearTimeout(this.timer)
    this.timer = null
    await this.running
  }

  private schedule (): void {
    if (this.stopped) return
    this.timer = setTimeout(() => {
      this.pass().catch(() => false).finally(() => this.schedule())
    }, this.intervalMs)
    this.timer.unref()
  }

  private async relay (): Promise<boolean> {
    let entries: OutboxEntry[]
    try {
      entries = await this.source.pending(this.batch)
    } catch (error) {
      this.report(error, 'outbox unreadable')
      return false
    }

    // Once one of an owner's events fails, its later ones wait too, so
    // each owner's events reach the bus in the order they happened.
    const blocked = new Set<string>()
    for (const entry of entries) {
      if (blocked.has(entry.owner)) continue
      if (!await this.publish(entry)) blocked.add(entry.owner)
    }

    if (blocked.size === 0 && this.failing) {
      this.failing = false
      this.log.info('outbox relay publishing again')
    }
    return blocked.size === 0 && entries.length < this.batch
  }

  private async publish (entry: OutboxEntry): Promise<boolean> {
    let event: Envelope | null = null
    try {
      event = parseEnvelope(JSON.parse(entry.raw))
    } catch {
      event = null
    }

    if (event === null) {
      // Not something this version can send; keeping it would block the owner.
      this.log.error({ owner: entry.owner }, 'outbox event does not match the contract; dropped')
      await this.source.done(entry)
      return true
    }

    try {
      await this.bus.publish(event)
      await this.source.done(entry)
      const fields = { event_id: event.id, event_type: event.type }
      this.log.debug(fields, 'event published from the outbox')
      return true
    } catch (error) {
      this.report(error, 'outbox relay cannot publish; events wait in the store')
      return false
    }
  }

  private report (error: unknown, message: string): void {
    if (this.failing) return
    this.failing = true
    this.log.warn({ err: error }, message)
  }
}

/** The stored form of an envelope in an outbox. */
export function outboxRecord (event: Envelope): string {
  return JSON.stringify(event)
}
