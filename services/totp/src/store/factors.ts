import { outboxRecord, type Envelope, type OutboxEntry, type OutboxSource } from '@twofa/events'
import type { SealedSecret } from '../domain/secret-box.js'

/** A confirmed TOTP factor: the durable record of a user's 2FA. */
export interface Factor {
  userId: string
  /** Changes each time 2FA is turned on, so state keyed by it dies with the factor. */
  factorId: string
  secret: SealedSecret
  /** Hashes of the recovery codes not yet used. */
  recoveryHashes: string[]
  enabledAt: Date
}

/**
 * Where factors live. Every change that others must hear about takes the
 * event with it and stores both in one single-document write, so the event
 * exists exactly when the change does (the outbox); the relay publishes it
 * later, whatever happens to the process in between.
 *
 * MongoDB applies each write atomically, which gives exactly one winner among
 * concurrent callers below. FerretDB 1.x does not (see MongoFactorStore); the
 * domain serialises writes to one account with a lease in Redis.
 */
export interface FactorStore extends OutboxSource {
  get: (userId: string) => Promise<Factor | null>
  /** Creates the factor; false when the user already has one. */
  create: (factor: Factor, event: Envelope) => Promise<boolean>
  /** Removes the factor if it is still `factorId`, and returns it; null otherwise. */
  remove: (userId: string, factorId: string, event: Envelope) => Promise<Factor | null>
  /**
   * Removes one recovery hash from the factor, atomically: true for exactly
   * one of any number of concurrent callers with the same hash.
   */
  consumeRecoveryHash: (
    userId: string,
    factorId: string,
    hash: string,
    event: Envelope
  ) => Promise<boolean>
  /** Replaces the whole set; false when the factor changed or is gone. */
  replaceRecoveryHashes: (
    userId: string,
    factorId: string,
    hashes: string[],
    event: Envelope
  ) => Promise<boolean>
  /** Replaces the sealed secret if it is still `previous`; for key rotation. */
  resealSecret: (
    userId: string,
    factorId: string,
    previous: SealedSecret,
    next: SealedSecret
  ) => Promise<boolean>
  /**
   * Remembers that the user was deleted: `create` refuses them from then on,
   * so a token issued before the deletion cannot turn 2FA on again.
   */
  markDeleted: (userId: string) => Promise<void>
  isDeleted: (userId: string) => Promise<boolean>
  /** Factors in user id order after `afterUserId`, `limit` at a time; for key rotation. */
  page: (afterUserId: string | null, limit: number) => Promise<Factor[]>
  close: () => Promise<void>
}

function copy (factor: Factor): Factor {
  return { ...factor, secret: { ...factor.secret }, recoveryHashes: [...factor.recoveryHashes] }
}

interface Slot {
  factor: Factor | null
  outbox: string[]
  deleted?: boolean
}

/** The in-memory factor store, for the one-process quick start. */
export class MemoryFactorStore implements FactorStore {
  private readonly slots = new Map<string, Slot>()

  async get (userId: string): Promise<Factor | null> {
    const factor = this.slots.get(userId)?.factor
    return factor ? copy(factor) : null
  }

  async create (factor: Factor, event: Envelope): Promise<boolean> {
    const slot = this.slot(factor.userId)
    if (slot.factor || slot.deleted === true) return false
    slot.factor = copy(factor)
    slot.outbox.push(outboxRecord(event))
    return true
  }

  async remove (userId: string, factorId: string, event: Envelope): Promise<Factor | null> {
    const slot = this.slots.get(userId)
    if (slot?.factor?.factorId !== factorId) return null
    const factor = slot.factor
    slot.factor = null
    slot.outbox.push(outboxRecord(event))
    return factor
  }

  async consumeRecoveryHash (
    userId: string,
    factorId: string,
    hash: string,
    event: Envelope
  ): Promise<boolean> {
    const factor = this.current(userId, factorId)
    const index = factor ? factor.recoveryHashes.indexOf(hash) : -1
    if (!factor || index < 0) return false
    factor.recoveryHashes.splice(index, 1)
    this.slot(userId).outbox.push(outboxRecord(event))
    return true
  }

  async replaceRecoveryHashes (
    userId: string,
    factorId: string,
    hashes: string[],
    event: Envelope
  ): Promise<boolean> {
    const factor = this.current(userId, factorId)
    if (!factor) return false
    factor.recoveryHashes = [...hashes]
    this.slot(userId).outbox.push(outboxRecord(event))
    return true
  }

  async resealSecret (
    userId: string,
    factorId: string,
    previous: SealedSecret,
    next: SealedSecret
  ): Promise<boolean> {
    const factor = this.current(userId, factorId)
    const unchanged = factor?.secret.ct === previous.ct && factor.secret.kid === previous.kid
    if (!factor || !unchanged) return false
    factor.secret = { ...next }
    return true
  }

  async markDeleted (userId: string): Promise<void> {
    this.slot(userId).deleted = true
  }

  async isDeleted (userId: string): Promise<boolean> {
    return this.slots.get(userId)?.deleted === true
  }

  async page (afterUserId: string | null, limit: number): Promise<Factor[]> {
    return [...this.slots.entries()]
      .filter(([id, slot]) => slot.factor && (afterUserId === null || id > afterUserId))
      .sort(([a], [b]) => a < b ? -1 : 1)
      .slice(0, limit)
      .map(([, slot]) => copy(slot.factor as Factor))
  }

  async pending (limit: number): Promise<OutboxEntry[]> {
    const entries: OutboxEntry[] = []
    for (const [owner, slot] of this.slots) {
      for (const raw of slot.outbox) entries.push({ owner, raw })
    }
    return entries.slice(0, limit)
  }

  async done (entry: OutboxEntry): Promise<void> {
    const slot = this.slots.get(entry.owner)
    if (!slot) return
    slot.outbox = slot.outbox.filter((raw) => raw !== entry.raw)
    if (!slot.factor && slot.outbox.length === 0 && slot.deleted !== true) {
      this.slots.delete(entry.owner)
    }
  }

  async close (): Promise<void> {}

  private slot (userId: string): Slot {
    let slot = this.slots.get(userId)
    if (!slot) {
      slot = { factor: null, outbox: [] }
      this.slots.set(userId, slot)
    }
    return slot
  }

  private current (userId: string, factorId: string): Factor | undefined {
    const factor = this.slots.get(userId)?.factor
    return factor?.factorId === factorId ? factor : undefined
  }
}
