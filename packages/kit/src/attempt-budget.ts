import type { Redis } from 'ioredis'

export interface BudgetPolicy {
  /** Wrong attempts without a success before the key is locked. */
  limit: number
  /** How long the count is remembered after the last attempt. */
  windowSeconds: number
  lockSeconds: number
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
  /** Records a wrong attempt; true for the one that spent the budget and set the lock. */
  fail: (key: string, attempt: number, policy: BudgetPolicy) => Promise<boolean>
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

// KEYS[1] counter, KEYS[2] lock; ARGV[1] attempt, ARGV[2] limit, ARGV[3] lock s.
// 1 for the wrong attempt that set the lock.
const FAIL = `
if tonumber(ARGV[1]) < tonumber(ARGV[2]) then return 0 end
if not redis.call('SET', KEYS[2], '1', 'EX', ARGV[3], 'NX') then return 0 end
redis.call('DEL', KEYS[1])
return 1
`

interface BudgetRedis extends Redis {
  budgetReserve: (counter: string, lock: string, ...args: number[]) => Promise<[number, number?]>
  budgetFail: (counter: string, lock: string, ...args: number[]) => Promise<number>
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
    redis.defineCommand('budgetFail', { numberOfKeys: 2, lua: FAIL })
    this.redis = redis as BudgetRedis
  }

  /** The counter and lock keys of one budget, for scripts that take part in it. */
  keys (key: string): [string, string] {
    return [`${this.namespace}fails:{${key}}`, `${this.namespace}lock:{${key}}`]
  }

  async reserve (key: string, policy: BudgetPolicy): Promise<BudgetAttempt> {
    const [counter, lock] = this.keys(key)
    const [attempt, retryAfterMs] = await this.redis.budgetReserve(
      counter, lock, policy.limit, policy.windowSeconds, policy.lockSeconds
    )
    if (attempt < 0) return { status: 'locked', retryAfterMs: retryAfterMs ?? 0 }
    return { status: 'reserved', attempt }
  }

  async fail (key: string, attempt: number, policy: BudgetPolicy): Promise<boolean> {
    const [counter, lock] = this.keys(key)
    const { limit, lockSeconds } = policy
    return (await this.redis.budgetFail(counter, lock, attempt, limit, lockSeconds)) === 1
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

  async fail (key: string, attempt: number, policy: BudgetPolicy): Promise<boolean> {
    if (attempt < policy.limit || await this.lockedForMs(key) > 0) return false
    this.locks.set(key, this.now() + policy.lockSeconds * 1000)
    this.counts.delete(key)
    return true
  }

  async clear (key: string): Promise<void> {
    this.counts.delete(key)
    this.locks.delete(key)
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
