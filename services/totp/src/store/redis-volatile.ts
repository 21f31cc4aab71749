import { randomUUID } from 'node:crypto'
import type { Redis } from 'ioredis'
import { RedisAttemptBudget } from '@twofa/kit'
import type {
  AccountAttempt,
  ChallengeAttempt,
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

// KEYS[1] challenge hash, KEYS[2] account failure counter, KEYS[3] account lock;
// ARGV[1] user id, ARGV[2] challenge attempts, ARGV[3] account limit,
// ARGV[4] account window s, ARGV[5] account lock s.
// Returns {attempt, accountAttempt}; {0} missing; {-1} exhausted; {-2, ms} locked.
const BEGIN_CHALLENGE = `
local locked = redis.call('PTTL', KEYS[3])
if locked > 0 then return {-2, locked} end
local owner = redis.call('HGET', KEYS[1], 'owner')
if not owner or owner ~= ARGV[1] then return {0} end
local attempts = tonumber(redis.call('HGET', KEYS[1], 'attempts') or '0')
if attempts >= tonumber(ARGV[2]) then return {-1} end
local account = redis.call('INCR', KEYS[2])
redis.call('EXPIRE', KEYS[2], ARGV[4])
if account > tonumber(ARGV[3]) then return {-2, tonumber(ARGV[5]) * 1000} end
redis.call('HSET', KEYS[1], 'attempts', attempts + 1)
return {attempts + 1, account}
`

// KEYS[1] challenge hash, KEYS[2] account failure counter, KEYS[3] account lock,
// KEYS[4] the account's locks in a row.
// Ends the challenge and gives the account its budget back; 1 when it ended it.
const FINISH_CHALLENGE = `
local ended = redis.call('DEL', KEYS[1])
redis.call('DEL', KEYS[2], KEYS[3], KEYS[4])
return ended
`

// KEYS[1] guard key; ARGV[1] step, ARGV[2] ttl seconds. 1 when claimed.
const CLAIM_STEP = `
local last = tonumber(redis.call('GET', KEYS[1]) or '-1')
if tonumber(ARGV[1]) <= last then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])
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
  twofaBeginChallenge: (
    challenge: string,
    counter: string,
    lock: string,
    userId: string,
    max: number,
    limit: number,
    window: number,
    lockSeconds: number
  ) => Promise<[number, number?]>
  twofaFinishChallenge: (
    challenge: string,
    counter: string,
    lock: string,
    strikes: string
  ) => Promise<number>
  twofaReleaseLease: (key: string, token: string) => Promise<number>
}

function toReservation (reply: [number, string?]): Reservation {
  const [attempt, owner] = reply
  if (attempt === 0 || owner === undefined) return { status: 'missing' }
  if (attempt < 0) return { status: 'exhausted', owner }
  return { status: 'reserved', owner, attempt }
}

/** A challenge shares its user's hash tag, so one script can touch it and the account's keys. */
function challengeKey (challengeId: string, userId: string): string {
  return `challenge:{${userId}}:${challengeId}`
}

/**
 * Short-lived 2FA state in Redis. Keys of one account share a hash tag
 * (`{user}`), so the multi-key script also works on Redis Cluster.
 */
export class RedisVolatileStore implements VolatileStore {
  private readonly redis: ScriptedRedis
  private readonly budget: RedisAttemptBudget

  constructor (redis: Redis, private readonly ownsConnection = true) {
    redis.defineCommand('twofaReserve', { numberOfKeys: 1, lua: RESERVE })
    redis.defineCommand('twofaClaimStep', { numberOfKeys: 1, lua: CLAIM_STEP })
    redis.defineCommand('twofaBeginChallenge', { numberOfKeys: 3, lua: BEGIN_CHALLENGE })
    redis.defineCommand('twofaFinishChallenge', { numberOfKeys: 4, lua: FINISH_CHALLENGE })
    redis.defineCommand('twofaReleaseLease', { numberOfKeys: 1, lua: RELEASE_LEASE })
    this.redis = redis as ScriptedRedis
    this.budget = new RedisAttemptBudget(redis)
  }

  async openChallenge (challengeId: string, userId: string, ttlSeconds: number): Promise<void> {
    const key = challengeKey(challengeId, userId)
    await this.redis.multi()
      .hset(key, { owner: userId, attempts: 0 })
      .expire(key, ttlSeconds)
      .exec()
  }

  async beginChallengeAttempt (
    challengeId: string,
    userId: string,
    max: number,
    policy: FailurePolicy
  ): Promise<ChallengeAttempt> {
    const [counter, lock] = this.budget.keys(userId)
    const [attempt, second] = await this.redis.twofaBeginChallenge(
      challengeKey(challengeId, userId), counter, lock,
      userId, max, policy.limit, policy.windowSeconds, policy.lockSeconds
    )
    if (attempt === 0) return { status: 'missing' }
    if (attempt === -1) return { status: 'exhausted' }
    if (attempt === -2) return { status: 'locked', retryAfterMs: second ?? 0 }
    return { status: 'reserved', attempt, accountAttempt: second ?? 0 }
  }

  async finishChallenge (challengeId: string, userId: string): Promise<boolean> {
    const [counter, lock, strikes] = this.budget.keys(userId)
    const challenge = challengeKey(challengeId, userId)
    return (await this.redis.twofaFinishChallenge(challenge, counter, lock, strikes)) === 1
  }

  async consumeChallenge (challengeId: string, userId: string): Promise<boolean> {
    return (await this.redis.del(challengeKey(challengeId, userId))) === 1
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
