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
 * Where factors live. Every write is one single-document operation, which
 * MongoDB applies atomically: that is what gives exactly one winner among
 * concurrent callers below. FerretDB 1.x does not (see MongoFactorStore).
 */
export interface FactorStore {
  get: (userId: string) => Promise<Factor | null>
  /** Creates the factor; false when the user already has one. */
  create: (factor: Factor) => Promise<boolean>
  /** Deletes and returns the factor, or null when there was none. */
  remove: (userId: string) => Promise<Factor | null>
  /**
   * Removes one recovery hash from the factor, atomically: true for exactly
   * one of any number of concurrent callers with the same hash.
   */
  consumeRecoveryHash: (userId: string, factorId: string, hash: string) => Promise<boolean>
  /** Replaces the whole set; false when the factor changed or is gone. */
  replaceRecoveryHashes: (userId: string, factorId: string, hashes: string[]) => Promise<boolean>
  /** Replaces the sealed secret if it is still `previous`; for key rotation. */
  resealSecret: (
    userId: string,
    factorId: string,
    previous: SealedSecret,
    next: SealedSecret
  ) => Promise<boolean>
  /** Factors in user id order after `afterUserId`, `limit` at a time; for key rotation. */
  page: (afterUserId: string | null, limit: number) => Promise<Factor[]>
  close: () => Promise<void>
}

function copy (factor: Factor): Factor {
  return { ...factor, secret: { ...factor.secret }, recoveryHashes: [...factor.recoveryHashes] }
}

/** The in-memory factor store, for the one-process quick start. */
export class MemoryFactorStore implements FactorStore {
  private readonly factors = new Map<string, Factor>()

  async get (userId: string): Promise<Factor | null> {
    const factor = this.factors.get(userId)
    return factor ? copy(factor) : null
  }

  async create (factor: Factor): Promise<boolean> {
    if (this.factors.has(factor.userId)) return false
    this.factors.set(factor.userId, copy(factor))
    return true
  }

  async remove (userId: string): Promise<Factor | null> {
    const factor = this.factors.get(userId)
    this.factors.delete(userId)
    return factor ?? null
  }

  async consumeRecoveryHash (userId: string, factorId: string, hash: string): Promise<boolean> {
    const factor = this.current(userId, factorId)
    const index = factor ? factor.recoveryHashes.indexOf(hash) : -1
    if (!factor || index < 0) return false
    factor.recoveryHashes.splice(index, 1)
    return true
  }

  async replaceRecoveryHashes (
    userId: string,
    factorId: string,
    hashes: string[]
  ): Promise<boolean> {
    const factor = this.current(userId, factorId)
    if (!factor) return false
    factor.recoveryHashes = [...hashes]
    return true
  }

  async resealSecret (
    userId: string,
    factorId: string,
    previous: SealedSecret,
    next: SealedSecret
  ): Promise<boolean> {
    const factor = this.current(userId, factorId)
    if (!factor || factor.secret.ct !== previous.ct || factor.secret.kid !== previous.kid) {
      return false
    }
    factor.secret = { ...next }
    return true
  }

  async page (afterUserId: string | null, limit: number): Promise<Factor[]> {
    return [...this.factors.keys()]
      .filter((id) => afterUserId === null || id > afterUserId)
      .sort()
      .slice(0, limit)
      .map((id) => copy(this.factors.get(id) as Factor))
  }

  async close (): Promise<void> {}

  private current (userId: string, factorId: string): Factor | undefined {
    const factor = this.factors.get(userId)
    return factor?.factorId === factorId ? factor : undefined
  }
}
