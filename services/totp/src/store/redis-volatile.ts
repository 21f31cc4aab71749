import { randomUUID } from 'node:crypto'
import type { Redis } from 'ioredis'
import type {
  AccountAttempt,
  FailurePolicy,
  PendingEnrollment,
  Reservation,
  VolatileStore
} from './volatile.js'

/*
 * Lua scripts, registered with defineCommand: ioredis sends EVALSHA and falls
 * back to EVAL when the server answers NOSCRIPT (after a restart, a failover
 * or SCRIPT FLUSH), so a flushed script cache costs one round trip, not an
 * outage.
 */

// KEYS[1] budget hash; ARGV[1] max attempts.
// Returns {attempt, owner}; {0} when missing; {-1, owner} when exhausted.
const RESERVE = `
local owner = redis.call('HGET', KEYS[1], 'owner')
if not owner then return {0} end
local attempts = tonumber(redis.call('HGET', KEYS[1], 'attempts') or '0')
if attempts >= tonumber(ARGV[1]) then return {-1, owner} end
redis.call('HSET', KEYS[1], 'attempts', attempts + 1)
return {attempts + 1, owner}
`

// KEYS[1] guard key; ARGV[1] step, ARGV[2] ttl seconds. 1 when claimed.
const CLAIM_STEP = `
local last = tonumber(redis.call('GET', KEYS[1]) or '-1')
if tonumber(ARGV[1]) <= last then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])
return 1
`

// KEYS[1] failure counter, KEYS[2] lock; ARGV[1] limit, ARGV[2] window seconds,
// ARGV[3] lock seconds. Returns {attempt} when reserved, {-1, retryAfterMs} when locked.
const RESERVE_ACCOUNT = `
local locked = redis.call('PTTL', KEYS[2])
if locked > 0 then return {-1, locked} end
local attempt = redis.call('INCR', KEYS[1])
redis.call('EXPIRE', KEYS[1], ARGV[2])
if attempt > tonumber(ARGV[1]) then return {-1, tonumber(ARGV[3]) * 1000} end
return {attempt}
`

// KEYS[1] failure counter, KEYS[2] lock; ARGV[1] attempt, ARGV[2] limit,
// ARGV[3] lock seconds. 1 for the failure that set the lock.
const RECORD_FAILURE = `
if tonumber(ARGV[1]) < tonumber(ARGV[2]) then return 0 end
if not redis.call('SET', KEYS[2], '1', 'EX', ARGV[3], 'NX') then return 0 end
redis.call('DEL', KEYS[1])
return 1
`

// KEYS[1] lease; ARGV[1] token. Deletes the lease only if it is still ours.
const RELEASE_LEASE = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`

interface ScriptedRedis extends Redis {
  twofaReserve: (key: string, max: number) => Promise<[number, string?]>
  twofaClaimStep: (key: string, step: number, ttl: number) => Promise<number>
  twofaReserveAccount: (
    counter: string,
    lock: string,
    limit: number,
    window: number,
    lockSeconds: number
  ) => Promise<[number, number?]>
  twofaRecordFailure: (
    counter: string,
    lock: string,
    attempt: number,
    limit: number,
    lockSeconds: number
  ) => Promise<number>
  twofaReleaseLease: (key: string, token: string) => Promise<number>
}

function toReservation (reply: [number, string?]): Reservation {
  const [attempt, owner] = reply
  if (attempt === 0 || owner === undefined) return { status: 'missing' }
  if (attempt < 0) return { status: 'exhausted', owner }
  return { status: 'reserved', owner, attempt }
}

/**
 * Short-lived 2FA state in Redis. Keys of one account share a hash tag
 * (`{user}`), so the multi-key script also works on Redis Cluster.
 */
export class RedisVolatileStore implements VolatileStore {
  private readonly redis: ScriptedRedis

  constructor (redis: Redis, private readonly ownsConnection = true) {
    redis.defineCommand('twofaReserve', { numberOfKeys: 1, lua: RESERVE })
    redis.defineCommand('twofaClaimStep', { numberOfKeys: 1, lua: CLAIM_STEP })
    redis.defineCommand('twofaReserveAccount', { numberOfKeys: 2, lua: RESERVE_ACCOUNT })
    redis.defineCommand('twofaRecordFailure', { numberOfKeys: 2, lua: RECORD_FAILURE })
    redis.defineCommand('twofaReleaseLease', { numberOfKeys: 1, lua: RELEASE_LEASE })
    this.redis = redis as ScriptedRedis
  }

  async openChallenge (challengeId: string, userId: string, ttlSeconds: number): Promise<void> {
    const key = `challenge:${challengeId}`
    await this.redis.multi()
      .hset(key, { owner: userId, attempts: 0 })
      .expire(key, ttlSeconds)
      .exec()
  }

  async reserveChallengeAttempt (challengeId: string, max: number): Promise<Reservation> {
    return toReservation(await this.redis.twofaReserve(`challenge:${challengeId}`, max))
  }

  async consumeChallenge (challengeId: string): Promise<boolean> {
    return (await this.redis.del(`challenge:${challengeId}`)) === 1
  }

  async savePending (
    userId: string,
    pending: PendingEnrollment,
    ttlSeconds: number
  ): Promise<void> {
    const key = `enroll:{${userId}}`
    await this.redis.multi()
      .del(key)
      .hset(key, {
        owner: userId,
        attempts: 0,
        factor_id: pending.factorId,
        secret: JSON.stringify(pending.secret)
      })
      .expire(key, ttlSeconds)
      .exec()
  }

  async loadPending (userId: string): Promise<PendingEnrollment | null> {
    const [factorId, secret] = await this.redis.hmget(`enroll:{${userId}}`, 'factor_id', 'secret')
    if (!factorId || !secret) return null
    return { factorId, secret: JSON.parse(secret) as PendingEnrollment['secret'] }
  }

  async reservePendingAttempt (userId: string, max: number): Promise<Reservation> {
    return toReservation(await this.redis.twofaReserve(`enroll:{${userId}}`, max))
  }

  async dropPending (userId: string): Promise<void> {
    await this.redis.del(`enroll:{${userId}}`)
  }

  async claimStep (factorId: string, step: number, ttlSeconds: number): Promise<boolean> {
    return (await this.redis.twofaClaimStep(`step:${factorId}`, step, ttlSeconds)) === 1
  }

  async reserveAccountAttempt (userId: string, policy: FailurePolicy): Promise<AccountAttempt> {
    const [attempt, retryAfterMs] = await this.redis.twofaReserveAccount(
      `fails:{${userId}}`,
      `lock:{${userId}}`,
      policy.limit,
      policy.windowSeconds,
      policy.lockSeconds
    )
    if (attempt < 0) return { status: 'locked', retryAfterMs: retryAfterMs ?? 0 }
    return { status: 'reserved', attempt }
  }

  async recordFailure (userId: string, attempt: number, policy: FailurePolicy): Promise<boolean> {
    const locked = await this.redis.twofaRecordFailure(
      `fails:{${userId}}`, `lock:{${userId}}`, attempt, policy.limit, policy.lockSeconds
    )
    return locked === 1
  }

  async clearFailures (userId: string): Promise<void> {
    await this.redis.del(`fails:{${userId}}`, `lock:{${userId}}`)
  }

  async lockedForMs (userId: string): Promise<number> {
    return Math.max(0, await this.redis.pttl(`lock:{${userId}}`))
  }

  async acquireLease (userId: string, ttlMs: number): Promise<string | null> {
    const token = randomUUID()
    const taken = await this.redis.set(`lease:{${userId}}`, token, 'PX', ttlMs, 'NX')
    return taken === 'OK' ? token : null
  }

  async releaseLease (userId: string, token: string): Promise<void> {
    await this.redis.twofaReleaseLease(`lease:{${userId}}`, token)
  }

  async ping (): Promise<void> {
    await this.redis.ping()
  }

  async close (): Promise<void> {
    if (this.ownsConnection) await this.redis.quit().catch(() => this.redis.disconnect())
  }
}
