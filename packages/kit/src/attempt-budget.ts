import type { Redis } from 'ioredis'

export interface BudgetPolicy {
  /** Wrong attempts without a success before the key is locked. */
  limit: number
  /** How long the count is remembered after the last attempt. */
  windowSeconds: number
  /** How long the first lock lasts. */
  lockSeconds: number
  /**
   * When above `lockSeconds`, each further lock without a success in
   * between lasts twice as long as the one before, up to this. Locks are
   * remembered for `windowSeconds` after the last one ends. Without it every
   * lock lasts `lockSeconds` and a fresh budget follows each: a guesser who
   * waits gets `limit` more guesses per lock, without end.
   */
  maxLockSeconds?: number
}

/** The length of the n-th lock in a row (n from 1) under a policy. */
export function lockSecondsFor (policy: BudgetPolicy, strike: number): number {
  const cap = Math.max(policy.lockSeconds, policy.maxLockSeconds ?? 0)
  let seconds = policy.lockSeconds
  for (let n = 1; n < strike && seconds < cap; n++) seconds *= 2
  return Math.min(seconds, cap)
}

/**
 * The outcome of taking one attempt from a key's budget. Attempts are
 * counted before the guess is checked, so concurrent guesses cannot exceed
 * the budget; a success gives the budget back.
 */
export type BudgetAttempt =
  | { status: 'reserved', attempt: number }
  | { status: 'locked', retryAfterMs: number }

/**
 * A budget of wrong attempts per key (an account's second step, a sign-in
 * email), shared by every replica when it lives in Redis.
 */
export interface AttemptBudget {
  /** Takes one attempt, or reports the key locked. */
  reserve: (key: string, policy: BudgetPolicy) => Promise<BudgetAttempt>
  /**
   * Records a wrong attempt. For the one that spent the budget and set the
   * lock: that lock's length in seconds; for any other: 0.
   */
  fail: (key: string, attempt: number, policy: BudgetPolicy) => Promise<number>
  /** A success, or an admin: the whole budget back and any lock lifted. */
  clear: (key: string) => Promise<void>
  lockedForMs: (key: string) => Promise<number>
}

// KEYS[1] counter, KEYS[2] lock; ARGV[1] limit, ARGV[2] window s, ARGV[3] lock s.
// Returns {attempt} when reserved, {-1, retryAfterMs} when locked.
const RESERVE = `
local locked = redis.call('PTTL', KEYS[2])
if locked > 0 then return {-1, locked} end
local attempt = redis.call('INCR', KEYS[1])
redis.call('EXPIRE', KEYS[1], ARGV[2])
if attempt > tonumber(ARGV[1]) then return {-1, tonumber(ARGV[3]) * 1000} end
return {attempt}
`

// KEYS[1] counter, KEYS[2] lock, KEYS[3] strikes (locks in a row);
// ARGV[1] attempt, ARGV[2] limit, ARGV[3] lock s, ARGV[4] longest lock s, ARGV[5] window s.
// The lock's length in seconds for the wrong attempt that set it, else 0.
export const FAIL_SCRIPT = `
if tonumber(ARGV[1]) < tonumber(ARGV[2]) then return 0 end
if redis.call('EXISTS', KEYS[2]) == 1 then return 0 end
local strike = redis.call('INCR', KEYS[3])
local seconds = tonumber(ARGV[3])
local cap = math.max(seconds, tonumber(ARGV[4]))
local n = 1
while n < strike and seconds < cap do
  seconds = seconds * 2
  n = n + 1
end
if seconds > cap then seconds = cap end
redis.call('SET', KEYS[2], '1', 'EX', seconds)
redis.call('EXPIRE', KEYS[3], seconds + tonumber(ARGV[5]))
redis.call('DEL', KEYS[1])
return seconds
`

interface BudgetRedis extends Redis {
  budgetReserve: (counter: string, lock: string, ...args: number[]) => Promise<[number, number?]>
  budgetFail: (
    counter: string,
    lock: string,
    strikes: string,
    ...args: number[]
  ) => Promise<number>
}

/**
 * The budget in Redis. Both keys of one budget share a hash tag, so the
 * scripts also run on Redis Cluster.
 */
export class RedisAttemptBudget implements AttemptBudget {
  private readonly redis: BudgetRedis

  /** `namespace` keeps budgets of different purposes apart in one keyspace. */
  constructor (redis: Redis, private readonly namespace = '') {
    redis.defineCommand('budgetReserve', { numberOfKeys: 2, lua: RESERVE })
    redis.defineCommand('budgetFail', { numberOfKeys: 3, lua: FAIL_SCRIPT })
    this.redis = redis as BudgetRedis
  }

  /** The counter, lock and strike keys of one budget, for scripts that take part in it. */
  keys (key: string): [string, string, string] {
    const ns = this.namespace
    return [`${ns}fails:{${key}}`, `${ns}lock:{${key}}`, `${ns}strikes:{${key}}`]
  }

  async reserve (key: string, policy: BudgetPolicy): Promise<BudgetAttempt> {
    const [counter, lock] = this.keys(key)
    const [attempt, retryAfterMs] = await this.redis.budgetReserve(
      counter, lock, policy.limit, policy.windowSeconds, policy.lockSeconds
    )
    if (attempt < 0) return { status: 'locked', retryAfterMs: retryAfterMs ?? 0 }
    return { status: 'reserved', attempt }
  }

  async fail (key: string, attempt: number, policy: BudgetPolicy): Promise<number> {
    const [counter, lock, strikes] = this.keys(key)
    const { limit, lockSeconds, windowSeconds } = policy
    const longest = policy.maxLockSeconds ?? lockSeconds
    const locked = await this.redis.budgetFail(
      counter, lock, strikes, attempt, limit, lockSeconds, longest, windowSeconds
    )
    return locked
  }

  async clear (key: string): Promise<void> {
    await this.redis.del(...this.keys(key))
  }

  async lockedForMs (key: string): Promise<number> {
    return Math.max(0, await this.redis.pttl(this.keys(key)[1]))
  }
}

/**
 * The in-memory stand-in. Each operation runs to completion before the next,
 * which gives the same atomicity as the Redis scripts.
 */
export class MemoryAttemptBudget implements AttemptBudget {
  private readonly counts = new Map<string, { value: number, expiresAt: number }>()
  private readonly locks = new Map<string, number>()
  private readonly strikes = new Map<string, { count: number, expiresAt: number }>()

  constructor (private readonly now: () => number = Date.now) {}

  async reserve (key: string, policy: BudgetPolicy): Promise<BudgetAttempt> {
    const locked = await this.lockedForMs(key)
    if (locked > 0) return { status: 'locked', retryAfterMs: locked }

    const current = this.counts.get(key)
    const attempt = (current && current.expiresAt > this.now() ? current.value : 0) + 1
    this.counts.set(key, { value: attempt, expiresAt: this.now() + policy.windowSeconds * 1000 })
    if (attempt > policy.limit) return { status: 'locked', retryAfterMs: policy.lockSeconds * 1000 }
    return { status: 'reserved', attempt }
  }

  async fail (key: string, attempt: number, policy: BudgetPolicy): Promise<number> {
    if (attempt < policy.limit || await this.lockedForMs(key) > 0) return 0
    const previous = this.strikes.get(key)
    const strike = (previous && previous.expiresAt > this.now() ? previous.count : 0) + 1
    const seconds = lockSecondsFor(policy, strike)
    this.locks.set(key, this.now() + seconds * 1000)
    this.strikes.set(key, {
      count: strike,
      expiresAt: this.now() + (seconds + policy.windowSeconds) * 1000
    })
    this.counts.delete(key)
    return seconds
  }

  async clear (key: string): Promise<void> {
    this.counts.delete(key)
    this.locks.delete(key)
    this.strikes.delete(key)
  }

  async lockedForMs (key: string): Promise<number> {
    const until = this.locks.get(key)
    if (until === undefined) return 0
    if (until <= this.now()) {
      this.locks.delete(key)
      return 0
    }
    return until - this.now()
  }
}
