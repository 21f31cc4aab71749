import type { SealedSecret } from '../domain/secret-box.js'

/** The outcome of taking one attempt from a bounded budget (a challenge or an enrollment). */
export type Reservation =
  | { status: 'reserved', owner: string, attempt: number }
  | { status: 'missing' }
  | { status: 'exhausted', owner: string }

/** A secret shown to the user but not yet confirmed with a code. */
export interface PendingEnrollment {
  factorId: string
  secret: SealedSecret
}

export interface FailurePolicy {
  /** Wrong codes without a success before the account's second step is locked. */
  limit: number
  /** How long the count of wrong codes is remembered after the last one. */
  windowSeconds: number
  lockSeconds: number
}

export interface FailureCount {
  failures: number
  /** True for the one failure that reached the limit and set the lock. */
  justLocked: boolean
}

/**
 * The short-lived state of the 2FA service: login challenges, pending
 * enrollments, the replay guard and the per-account failure count. Every
 * entry expires by itself. Each operation is atomic, so concurrent requests
 * (on any number of replicas) cannot overspend an attempt budget, reuse a
 * time step, or push a counter past its bound.
 */
export interface VolatileStore {
  openChallenge: (challengeId: string, userId: string, ttlSeconds: number) => Promise<void>
  /** Takes one attempt; `exhausted` once `max` attempts were taken. */
  reserveChallengeAttempt: (challengeId: string, max: number) => Promise<Reservation>
  /** Ends the challenge; true only for the caller that ended it. */
  consumeChallenge: (challengeId: string) => Promise<boolean>

  /** Stores a pending enrollment, replacing any earlier one and its attempt count. */
  savePending: (userId: string, pending: PendingEnrollment, ttlSeconds: number) => Promise<void>
  loadPending: (userId: string) => Promise<PendingEnrollment | null>
  reservePendingAttempt: (userId: string, max: number) => Promise<Reservation>
  dropPending: (userId: string) => Promise<void>

  /**
   * The replay guard (RFC 6238 §5.2): records `step` as the factor's last
   * accepted time step if it is later than the one recorded. False when this
   * step or a later one was already accepted.
   */
  claimStep: (factorId: string, step: number, ttlSeconds: number) => Promise<boolean>

  /**
   * Claims one recovery code (by its hash) for one use: true for exactly one
   * of any number of concurrent callers. The durable store removes the code
   * afterwards; this claim makes the single use hold even where that store's
   * updates are not atomic.
   */
  claimRecoveryCode: (factorId: string, hash: string, ttlSeconds: number) => Promise<boolean>

  /** Milliseconds until the account's second step unlocks; 0 when it is not locked. */
  lockedForMs: (userId: string) => Promise<number>
  recordFailure: (userId: string, policy: FailurePolicy) => Promise<FailureCount>
  clearFailures: (userId: string) => Promise<void>

  ping: () => Promise<void>
  close: () => Promise<void>
}

interface Entry<T> {
  value: T
  expiresAt: number
}

interface Budget {
  owner: string
  attempts: number
  pending?: PendingEnrollment
}

/**
 * The in-memory stand-in for Redis, for the one-process quick start. Node
 * runs each operation to completion before the next, which gives the same
 * atomicity as the Redis scripts.
 */
export class MemoryVolatileStore implements VolatileStore {
  private readonly entries = new Map<string, Entry<unknown>>()
  private sweeps = 0

  constructor (private readonly now: () => number = Date.now) {}

  async openChallenge (challengeId: string, userId: string, ttlSeconds: number): Promise<void> {
    this.set(`challenge:${challengeId}`, { owner: userId, attempts: 0 }, ttlSeconds)
  }

  async reserveChallengeAttempt (challengeId: string, max: number): Promise<Reservation> {
    return this.reserve(`challenge:${challengeId}`, max)
  }

  async consumeChallenge (challengeId: string): Promise<boolean> {
    return this.delete(`challenge:${challengeId}`)
  }

  async savePending (
    userId: string,
    pending: PendingEnrollment,
    ttlSeconds: number
  ): Promise<void> {
    this.set(`enroll:${userId}`, { owner: userId, attempts: 0, pending }, ttlSeconds)
  }

  async loadPending (userId: string): Promise<PendingEnrollment | null> {
    return this.get<Budget>(`enroll:${userId}`)?.pending ?? null
  }

  async reservePendingAttempt (userId: string, max: number): Promise<Reservation> {
    return this.reserve(`enroll:${userId}`, max)
  }

  async dropPending (userId: string): Promise<void> {
    this.delete(`enroll:${userId}`)
  }

  async claimStep (factorId: string, step: number, ttlSeconds: number): Promise<boolean> {
    const last = this.get<number>(`step:${factorId}`)
    if (last !== undefined && step <= last) return false
    this.set(`step:${factorId}`, step, ttlSeconds)
    return true
  }

  async claimRecoveryCode (factorId: string, hash: string, ttlSeconds: number): Promise<boolean> {
    const key = `recovery:${factorId}:${hash}`
    if (this.live(key)) return false
    this.set(key, true, ttlSeconds)
    return true
  }

  async lockedForMs (userId: string): Promise<number> {
    const entry = this.live(`lock:${userId}`)
    return entry ? entry.expiresAt - this.now() : 0
  }

  async recordFailure (userId: string, policy: FailurePolicy): Promise<FailureCount> {
    const failures = (this.get<number>(`fails:${userId}`) ?? 0) + 1

    if (failures >= policy.limit) {
      this.delete(`fails:${userId}`)
      this.set(`lock:${userId}`, true, policy.lockSeconds)
      return { failures, justLocked: true }
    }

    this.set(`fails:${userId}`, failures, policy.windowSeconds)
    return { failures, justLocked: false }
  }

  async clearFailures (userId: string): Promise<void> {
    this.delete(`fails:${userId}`)
  }

  async ping (): Promise<void> {}

  async close (): Promise<void> {
    this.entries.clear()
  }

  private reserve (key: string, max: number): Reservation {
    const budget = this.get<Budget>(key)
    if (!budget) return { status: 'missing' }
    if (budget.attempts >= max) return { status: 'exhausted', owner: budget.owner }
    budget.attempts++
    return { status: 'reserved', owner: budget.owner, attempt: budget.attempts }
  }

  private live (key: string): Entry<unknown> | undefined {
    const entry = this.entries.get(key)
    if (entry && entry.expiresAt <= this.now()) {
      this.entries.delete(key)
      return undefined
    }
    return entry
  }

  private get<T> (key: string): T | undefined {
    return this.live(key)?.value as T | undefined
  }

  private set (key: string, value: unknown, ttlSeconds: number): void {
    this.entries.set(key, { value, expiresAt: this.now() + ttlSeconds * 1000 })
    if (++this.sweeps % 1000 === 0) this.sweep()
  }

  private delete (key: string): boolean {
    const existed = this.live(key) !== undefined
    this.entries.delete(key)
    return existed
  }

  /** Drops expired entries now and then, so memory follows live state. */
  private sweep (): void {
    for (const key of [...this.entries.keys()]) this.live(key)
  }
}
