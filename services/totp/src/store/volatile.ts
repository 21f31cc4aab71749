import { randomUUID } from 'node:crypto'
import { MemoryAttemptBudget, type BudgetAttempt, type BudgetPolicy } from '@twofa/kit'
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

/** Wrong codes without a success before the account's second step locks, and for how long. */
export type FailurePolicy = BudgetPolicy

export type AccountAttempt = BudgetAttempt

/** The outcome of starting one answer to a login challenge. */
export type ChallengeAttempt =
  | { status: 'reserved', attempt: number, accountAttempt: number }
  /** No such challenge for this user, or it expired or ended. */
  | { status: 'missing' }
  /** The challenge's attempts are spent. */
  | { status: 'exhausted' }
  /** The account's second step is locked. */
  | { status: 'locked', retryAfterMs: number }

/**
 * The short-lived state of the 2FA service: login challenges, pending
 * enrollments, the replay guard and the per-account failure count. Every
 * entry expires by itself. Each operation is atomic, so concurrent requests
 * (on any number of replicas) cannot overspend an attempt budget, reuse a
 * time step, or push a counter past its bound.
 */
export interface VolatileStore {
  openChallenge: (challengeId: string, userId: string, ttlSeconds: number) => Promise<void>
  /**
   * Starts one answer to a challenge in one step: refuses a locked account,
   * then takes one of the challenge's `max` attempts and one from the
   * account's budget. Nothing is spent when the answer is refused.
   */
  beginChallengeAttempt: (
    challengeId: string,
    userId: string,
    max: number,
    policy: FailurePolicy
  ) => Promise<ChallengeAttempt>
  /**
   * Ends the challenge after a success and gives the account its budget
   * back; true only for the caller that ended it.
   */
  finishChallenge: (challengeId: string, userId: string) => Promise<boolean>
  /** Ends the challenge; true only for the caller that ended it. */
  consumeChallenge: (challengeId: string, userId: string) => Promise<boolean>

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

  /** Takes one attempt from the account's budget, or reports the account locked. */
  reserveAccountAttempt: (userId: string, policy: FailurePolicy) => Promise<AccountAttempt>
  /**
   * Records that a reserved attempt was a wrong code. The one that used the
   * last of the budget locks the account's second step: for that one, the
   * lock's length in seconds (longer for each lock in a row when the policy
   * says so); for any other, 0.
   */
  recordFailure: (userId: string, attempt: number, policy: FailurePolicy) => Promise<number>
  /** A success, or an admin: the budget is whole again and any lock is lifted. */
  clearFailures: (userId: string) => Promise<void>
  /** Milliseconds until the account's second step unlocks; 0 when it is not locked. */
  lockedForMs: (userId: string) => Promise<number>

  /**
   * A short lease on one account's factor, so its read-check-write sequences
   * run one at a time on every replica. Resolves to a token to release with,
   * or null when someone else holds it.
   */
  acquireLease: (userId: string, ttlMs: number) => Promise<string | null>
  releaseLease: (userId: string, token: string) => Promise<void>

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

  private readonly budget: MemoryAttemptBudget

  constructor (private readonly now: () => number = Date.now) {
    this.budget = new MemoryAttemptBudget(now)
  }

  async openChallenge (challengeId: string, userId: string, ttlSeconds: number): Promise<void> {
    this.set(`challenge:${userId}:${challengeId}`, { owner: userId, attempts: 0 }, ttlSeconds)
  }

  async beginChallengeAttempt (
    challengeId: string,
    userId: string,
    max: number,
    policy: FailurePolicy
  ): Promise<ChallengeAttempt> {
    const locked = await this.budget.lockedForMs(userId)
    if (locked > 0) return { status: 'locked', retryAfterMs: locked }

    // Check and take the challenge's attempt with no await in between, so
    // concurrent callers cannot all pass the check first.
    const challenge = this.get<Budget>(`challenge:${userId}:${challengeId}`)
    if (!challenge) return { status: 'missing' }
    if (challenge.attempts >= max) return { status: 'exhausted' }
    const attempt = ++challenge.attempts

    const account = await this.budget.reserve(userId, policy)
    if (account.status === 'locked') {
      challenge.attempts--
      return account
    }
    return { status: 'reserved', attempt, accountAttempt: account.attempt }
  }

  async finishChallenge (challengeId: string, userId: string): Promise<boolean> {
    await this.budget.clear(userId)
    return this.delete(`challenge:${userId}:${challengeId}`)
  }

  async consumeChallenge (challengeId: string, userId: string): Promise<boolean> {
    return this.delete(`challenge:${userId}:${challengeId}`)
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

  async reserveAccountAttempt (userId: string, policy: FailurePolicy): Promise<AccountAttempt> {
    return await this.budget.reserve(userId, policy)
  }

  async recordFailure (userId: string, attempt: number, policy: FailurePolicy): Promise<number> {
    return await this.budget.fail(userId, attempt, policy)
  }

  async clearFailures (userId: string): Promise<void> {
    await this.budget.clear(userId)
  }

  async lockedForMs (userId: string): Promise<number> {
    return await this.budget.lockedForMs(userId)
  }

  async acquireLease (userId: string, ttlMs: number): Promise<string | null> {
    if (this.live(`lease:${userId}`)) return null
    const token = randomUUID()
    this.set(`lease:${userId}`, token, ttlMs / 1000)
    return token
  }

  async releaseLease (userId: string, token: string): Promise<void> {
    if (this.get<string>(`lease:${userId}`) === token) this.delete(`lease:${userId}`)
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
