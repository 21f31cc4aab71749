import type { Test } from 'tap'
import type { PendingEnrollment, VolatileStore } from '../src/store/volatile.js'

export interface Subject {
  store: VolatileStore
  /** Lets time pass: moves a fake clock, or waits on a real server. */
  pass: (ms: number) => Promise<void>
}

const pending: PendingEnrollment = {
  factorId: 'f-1',
  secret: { kid: 'k', iv: 'aXY=', ct: 'Y3Q=', tag: 'dGFn' }
}
const policy = { limit: 20, windowSeconds: 600, lockSeconds: 900 }

/**
 * What every VolatileStore promises, whatever holds the state. Run against
 * the in-memory stand-in and against Redis.
 */
export function volatileStoreContract (t: Test, make: () => Promise<Subject>): void {
  const roomy = { limit: 100, windowSeconds: 600, lockSeconds: 900 }
  const firstAttempt = { status: 'reserved', attempt: 1, accountAttempt: 1 }

  t.test('a challenge grants exactly its attempts, then reports exhausted', async (t) => {
    const { store } = await make()
    await store.openChallenge('c1', 'alice', 300)

    for (let attempt = 1; attempt <= 5; attempt++) {
      t.same(
        await store.beginChallengeAttempt('c1', 'alice', 5, roomy),
        { status: 'reserved', attempt, accountAttempt: attempt }
      )
    }
    t.same(await store.beginChallengeAttempt('c1', 'alice', 5, roomy), { status: 'exhausted' })
    t.same(await store.beginChallengeAttempt('c1', 'alice', 5, roomy), { status: 'exhausted' })
  })

  t.test('twenty concurrent attempts on a five-attempt challenge ' +
    'reserve exactly five, and spend five of the account\'s', async (t) => {
    const { store } = await make()
    await store.openChallenge('c2', 'ann', 300)

    const results = await Promise.all(Array.from({ length: 20 }, async () =>
      await store.beginChallengeAttempt('c2', 'ann', 5, roomy)))
    t.equal(results.filter((r) => r.status === 'reserved').length, 5)
    t.equal(results.filter((r) => r.status === 'exhausted').length, 15)
    const attempts = results.flatMap((r) => r.status === 'reserved' ? [r.attempt] : []).sort()
    t.same(attempts, [1, 2, 3, 4, 5], 'each attempt number handed out once')
    t.same(await store.reserveAccountAttempt('ann', roomy), { status: 'reserved', attempt: 6 })
  })

  t.test('an unknown challenge, or another user\'s, is missing', async (t) => {
    const { store } = await make()
    await store.openChallenge('c5', 'alice', 300)
    t.same(await store.beginChallengeAttempt('nope', 'alice', 5, roomy), { status: 'missing' })
    t.same(await store.beginChallengeAttempt('c5', 'mallory', 5, roomy), { status: 'missing' })
  })

  t.test('a locked account\'s challenge is refused without spending an attempt', async (t) => {
    const { store } = await make()
    const one = { limit: 1, windowSeconds: 600, lockSeconds: 900 }
    await store.openChallenge('c6', 'bob', 300)
    await store.reserveAccountAttempt('bob', one)
    await store.recordFailure('bob', 1, one)

    const refused = await store.beginChallengeAttempt('c6', 'bob', 5, one)
    t.equal(refused.status, 'locked')
    await store.clearFailures('bob')
    t.same(await store.beginChallengeAttempt('c6', 'bob', 5, one), firstAttempt)
  })

  t.test('an account over its budget refuses a challenge attempt ' +
    'and keeps the challenge\'s', async (t) => {
    const { store } = await make()
    const two = { limit: 2, windowSeconds: 600, lockSeconds: 900 }
    await store.openChallenge('c7', 'cy', 300)
    await store.reserveAccountAttempt('cy', two)
    await store.reserveAccountAttempt('cy', two)

    t.equal((await store.beginChallengeAttempt('c7', 'cy', 5, two)).status, 'locked')
    await store.clearFailures('cy')
    t.same(await store.beginChallengeAttempt('c7', 'cy', 5, two), firstAttempt)
  })

  t.test('finishing a challenge ends it once and gives the account its budget back', async (t) => {
    const { store } = await make()
    await store.openChallenge('c8', 'dee', 300)
    await store.beginChallengeAttempt('c8', 'dee', 5, roomy)

    const racers = await Promise.all(Array.from({ length: 10 }, async () =>
      await store.finishChallenge('c8', 'dee')))
    t.equal(racers.filter(Boolean).length, 1, 'exactly one caller ends it')
    t.same(await store.beginChallengeAttempt('c8', 'dee', 5, roomy), { status: 'missing' })
    t.same(await store.reserveAccountAttempt('dee', roomy), { status: 'reserved', attempt: 1 })
  })

  t.test('a challenge is consumed once; afterwards it is missing', async (t) => {
    const { store } = await make()
    await store.openChallenge('c3', 'alice', 300)

    const racers = await Promise.all(Array.from({ length: 10 }, async () =>
      await store.consumeChallenge('c3', 'alice')))
    t.equal(racers.filter(Boolean).length, 1, 'exactly one caller ends it')
    t.same(await store.beginChallengeAttempt('c3', 'alice', 5, roomy), { status: 'missing' })
  })

  t.test('a challenge expires after its time to live', async (t) => {
    const { store, pass } = await make()
    await store.openChallenge('c4', 'alice', 1)
    t.equal((await store.beginChallengeAttempt('c4', 'alice', 5, roomy)).status, 'reserved')
    await pass(1200)
    t.same(await store.beginChallengeAttempt('c4', 'alice', 5, roomy), { status: 'missing' })
  })

  t.test('a pending enrollment is saved, loaded, spent and dropped', async (t) => {
    const { store } = await make()
    t.equal(await store.loadPending('bob'), null)

    await store.savePending('bob', pending, 600)
    t.same(await store.loadPending('bob'), pending)
    t.same(
      await store.reservePendingAttempt('bob', 2),
      { status: 'reserved', owner: 'bob', attempt: 1 }
    )
    t.same(
      await store.reservePendingAttempt('bob', 2),
      { status: 'reserved', owner: 'bob', attempt: 2 }
    )
    t.same(await store.reservePendingAttempt('bob', 2), { status: 'exhausted', owner: 'bob' })

    await store.dropPending('bob')
    t.equal(await store.loadPending('bob'), null)
    t.same(await store.reservePendingAttempt('bob', 2), { status: 'missing' })
  })

  t.test('saving a new pending enrollment ' +
    'replaces the old one and its attempt count', async (t) => {
    const { store } = await make()
    await store.savePending('carol', pending, 600)
    await store.reservePendingAttempt('carol', 1)

    const next = { ...pending, factorId: 'f-2' }
    await store.savePending('carol', next, 600)
    t.same(await store.loadPending('carol'), next)
    t.same(
      await store.reservePendingAttempt('carol', 1),
      { status: 'reserved', owner: 'carol', attempt: 1 }
    )
  })

  t.test('K08 the replay guard accepts a step once ' +
    'and refuses it and every earlier step after', async (t) => {
    const { store } = await make()
    t.ok(await store.claimStep('f', 100, 120))
    t.notOk(await store.claimStep('f', 100, 120), 'the same step again')
    t.notOk(await store.claimStep('f', 99, 120), 'an earlier step')
    t.ok(await store.claimStep('f', 101, 120), 'a later step')
    t.ok(await store.claimStep('other-factor', 100, 120), 'factors are independent')
  })

  t.test('K08 of twenty concurrent claims of one step exactly one wins', async (t) => {
    const { store } = await make()
    const wins = await Promise.all(Array.from({ length: 20 }, async () =>
      await store.claimStep('race', 500, 120)))
    t.equal(wins.filter(Boolean).length, 1)
  })

  t.test('each attempt on an account takes a numbered place in its budget', async (t) => {
    const { store } = await make()
    for (let attempt = 1; attempt <= 3; attempt++) {
      t.same(await store.reserveAccountAttempt('dave', policy), { status: 'reserved', attempt })
    }
    t.equal(await store.lockedForMs('dave'), 0)
  })

  t.test('the wrong code that spends the last attempt locks the account, once', async (t) => {
    const { store } = await make()
    const limitOfThree = { ...policy, limit: 3 }
    for (let attempt = 1; attempt <= 3; attempt++) {
      await store.reserveAccountAttempt('dan', limitOfThree)
    }

    t.notOk(await store.recordFailure('dan', 2, limitOfThree), 'an earlier attempt does not lock')
    t.ok(await store.recordFailure('dan', 3, limitOfThree), 'the last one locks')
    t.notOk(await store.recordFailure('dan', 3, limitOfThree), 'and only once')

    const locked = await store.lockedForMs('dan')
    t.ok(locked > 890_000 && locked <= 900_000, `locked for ${locked} ms`)
    const refused = await store.reserveAccountAttempt('dan', limitOfThree)
    t.equal(refused.status, 'locked')
  })

  t.test('of thirty concurrent attempts on a budget of twenty ' +
    'exactly twenty are let through', async (t) => {
    const { store } = await make()
    const results = await Promise.all(Array.from({ length: 30 }, async () =>
      await store.reserveAccountAttempt('erin', policy)))
    const attempts = results.flatMap((r) => r.status === 'reserved' ? [r.attempt] : [])
    t.same(attempts.sort((a, b) => a - b), Array.from({ length: 20 }, (_, i) => i + 1))
    t.equal(results.filter((r) => r.status === 'locked').length, 10)
  })

  t.test('clearing failures gives the whole budget back and lifts a lock', async (t) => {
    const { store } = await make()
    const limitOfOne = { ...policy, limit: 1 }
    await store.reserveAccountAttempt('fay', limitOfOne)
    await store.recordFailure('fay', 1, limitOfOne)
    t.ok(await store.lockedForMs('fay') > 0)

    await store.clearFailures('fay')
    t.equal(await store.lockedForMs('fay'), 0)
    t.same(await store.reserveAccountAttempt('fay', limitOfOne), { status: 'reserved', attempt: 1 })
  })

  t.test('a lock ends by itself', async (t) => {
    const { store, pass } = await make()
    const short = { limit: 1, windowSeconds: 60, lockSeconds: 1 }
    await store.reserveAccountAttempt('gus', short)
    await store.recordFailure('gus', 1, short)
    t.ok(await store.lockedForMs('gus') > 0)
    await pass(1200)
    t.equal(await store.lockedForMs('gus'), 0)
  })

  t.test('each lock in a row lasts twice as long as the one before, up to the longest, ' +
    'and a success starts again from the first', async (t) => {
    const { store, pass } = await make()
    const escalating = { limit: 1, windowSeconds: 60, lockSeconds: 1, maxLockSeconds: 3 }
    const lockAgain = async (): Promise<number> => {
      const reserved = await store.reserveAccountAttempt('ivy', escalating)
      if (reserved.status !== 'reserved') throw new Error(`not reserved: ${reserved.status}`)
      return await store.recordFailure('ivy', reserved.attempt, escalating)
    }

    t.equal(await lockAgain(), 1, 'the first lock')
    await pass(1100)
    t.equal(await lockAgain(), 2, 'the second, twice as long')
    const second = await store.lockedForMs('ivy')
    t.ok(second > 1000 && second <= 2000, `locked for ${second} ms`)
    await pass(2100)
    t.equal(await lockAgain(), 3, 'the third, held at the longest')

    await store.clearFailures('ivy')
    t.equal(await lockAgain(), 1, 'after a success, the first again')
  })

  t.test('without a longest lock, every lock lasts the same', async (t) => {
    const { store, pass } = await make()
    const flat = { limit: 1, windowSeconds: 60, lockSeconds: 1 }
    for (const round of [1, 2]) {
      const reserved = await store.reserveAccountAttempt('jay', flat)
      t.equal(reserved.status, 'reserved')
      t.equal(await store.recordFailure('jay', 1, flat), 1, `lock ${round}`)
      await pass(1100)
    }
  })

  t.test('a lease is held by one caller at a time and freed by its holder only', async (t) => {
    const { store } = await make()
    const take = async () => await store.acquireLease('hal', 5000)
    const tokens = await Promise.all(Array.from({ length: 20 }, take))
    const holders = tokens.filter((token): token is string => token !== null)
    t.equal(holders.length, 1)

    await store.releaseLease('hal', 'not-the-token')
    t.equal(await store.acquireLease('hal', 5000), null, 'a stranger cannot free it')
    await store.releaseLease('hal', holders[0] as string)
    t.ok(await store.acquireLease('hal', 5000), 'free again after its holder releases it')
  })

  t.test('a lease whose holder vanished expires', async (t) => {
    const { store, pass } = await make()
    t.ok(await store.acquireLease('ivy', 300))
    await pass(400)
    t.ok(await store.acquireLease('ivy', 300))
  })
}
