import t from 'tap'
import { Redis } from 'ioredis'
import { present, redisBacking, skipWithout, uniqueName } from '@twofa/testing'
import { MemoryVolatileStore } from '../src/store/volatile.js'
import { RedisVolatileStore } from '../src/store/redis-volatile.js'
import { volatileStoreContract } from './volatile-store-contract.js'

t.test('in-memory stand-in', async (t) => {
  volatileStoreContract(t, async () => {
    let now = 1_000_000
    return { store: new MemoryVolatileStore(() => now), pass: async (ms) => { now += ms } }
  })
})

const redis = await redisBacking()
t.teardown(redis.stop)

t.test('Redis', { skip: skipWithout(redis) }, async (t) => {
  const backing = present(redis)
  const prefix = `${uniqueName('volatile')}:`
  const admin = new Redis(backing.url)

  t.teardown(async () => {
    const keys = await admin.keys(`${prefix}*`)
    if (keys.length > 0) await admin.del(...keys)
    admin.disconnect()
  })

  const stores: RedisVolatileStore[] = []
  t.teardown(async () => { for (const store of stores) await store.close() })

  volatileStoreContract(t, async () => {
    const store = new RedisVolatileStore(new Redis(backing.url, { keyPrefix: prefix }))
    stores.push(store)
    return { store, pass: async (ms) => await new Promise((resolve) => setTimeout(resolve, ms)) }
  })

  t.test('every key the store writes has a time to live', async (t) => {
    const store = new RedisVolatileStore(new Redis(backing.url, { keyPrefix: `${prefix}ttl:` }))
    stores.push(store)
    await store.openChallenge('c', 'u', 300)
    await store.beginChallengeAttempt('c', 'u', 5, { limit: 9, windowSeconds: 60, lockSeconds: 60 })
    const pending = { factorId: 'f', secret: { kid: 'k', iv: '', ct: '', tag: '' } }
    await store.savePending('u', pending, 600)
    await store.reservePendingAttempt('u', 5)
    await store.claimStep('f', 1, 120)
    const short = { limit: 1, windowSeconds: 60, lockSeconds: 60 }
    await store.reserveAccountAttempt('u', short)
    await store.recordFailure('u', 1, short)
    await store.reserveAccountAttempt('v', short)
    await store.acquireLease('w', 5000)

    const keys = await admin.keys(`${prefix}ttl:*`)
    t.ok(keys.length >= 5, `${keys.length} keys written`)
    for (const key of keys) t.ok(await admin.ttl(key) > 0, `${key} expires`)
  })

  t.test('K21 the scripts still run after SCRIPT FLUSH empties the server\'s cache', async (t) => {
    const store = new RedisVolatileStore(new Redis(backing.url, { keyPrefix: `${prefix}flush:` }))
    stores.push(store)
    const policy = { limit: 9, windowSeconds: 60, lockSeconds: 60 }
    await store.openChallenge('c', 'u', 300)
    t.equal((await store.beginChallengeAttempt('c', 'u', 5, policy)).status, 'reserved')

    // Only this test's scripts are affected: ioredis reloads any script on NOSCRIPT.
    await admin.script('FLUSH')
    t.same(
      await store.beginChallengeAttempt('c', 'u', 5, policy),
      { status: 'reserved', attempt: 2, accountAttempt: 2 }
    )
    t.ok(await store.claimStep('f', 7, 120))
    t.same(await store.reserveAccountAttempt('u', policy), { status: 'reserved', attempt: 3 })
    t.notOk(await store.recordFailure('u', 3, policy))
    t.ok(await store.finishChallenge('c', 'u'))
  })
})
