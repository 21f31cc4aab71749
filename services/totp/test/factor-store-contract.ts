import type { Test } from 'tap'
import type { SealedSecret } from '../src/domain/secret-box.js'
import type { Factor, FactorStore } from '../src/store/factors.js'

/** What the contract runs against: the in-memory stand-in or a real adapter. */
export interface FactorStoreSubject {
  /** An empty store for one test. */
  open: () => Promise<FactorStore>
  /** A reason to skip tests of racing writes, when this backend cannot run them. */
  skipRaces?: string | false
}

function sealed (ct: string, kid = 'k1'): SealedSecret {
  return { kid, iv: `iv-${ct}`, ct, tag: `tag-${ct}` }
}

function factorFor (userId: string, factorId = `factor-${userId}`): Factor {
  return {
    userId,
    factorId,
    secret: sealed(`ct-${userId}`),
    recoveryHashes: ['hash-a', 'hash-b', 'hash-c'],
    enabledAt: new Date('2026-01-02T03:04:05.678Z')
  }
}

/**
 * The behaviour every FactorStore must have. The factor service relies on
 * each of these to refuse replays and keep one factor per user.
 */
export function factorStoreContract (t: Test, subject: FactorStoreSubject): void {
  const races = { skip: subject.skipRaces ?? false }

  t.test('get returns the factor create stored', async (t) => {
    const store = await subject.open()
    const factor = factorFor('user-1')

    t.equal(await store.create(factor), true)

    t.strictSame(await store.get('user-1'), factor)
  })

  t.test('get returns null for a user without a factor', async (t) => {
    const store = await subject.open()

    t.equal(await store.get('nobody'), null)
  })

  t.test('create refuses a second factor for the same user', async (t) => {
    const store = await subject.open()
    await store.create(factorFor('user-1', 'first'))

    t.equal(await store.create(factorFor('user-1', 'second')), false)
    t.equal((await store.get('user-1'))?.factorId, 'first')
  })

  t.test('consumeRecoveryHash succeeds ' +
    'for exactly one of 20 concurrent callers with the same hash', races, async (t) => {
    const store = await subject.open()
    const factor = factorFor('user-1')
    await store.create(factor)

    const consumes = Array.from({ length: 20 }, async () =>
      await store.consumeRecoveryHash('user-1', factor.factorId, 'hash-b'))
    const results = await Promise.all(consumes)

    t.equal(results.filter(Boolean).length, 1)
    t.same((await store.get('user-1'))?.recoveryHashes, ['hash-a', 'hash-c'])
  })

  t.test('consumeRecoveryHash refuses a hash ' +
    'under a factor id that is not the current one', async (t) => {
    const store = await subject.open()
    await store.create(factorFor('user-1', 'current'))

    t.equal(await store.consumeRecoveryHash('user-1', 'previous', 'hash-a'), false)
    t.same((await store.get('user-1'))?.recoveryHashes, ['hash-a', 'hash-b', 'hash-c'])
  })

  t.test('replaceRecoveryHashes kills the old set', async (t) => {
    const store = await subject.open()
    const factor = factorFor('user-1')
    await store.create(factor)

    const fresh = ['hash-x', 'hash-y']
    t.equal(await store.replaceRecoveryHashes('user-1', factor.factorId, fresh), true)

    t.equal(await store.consumeRecoveryHash('user-1', factor.factorId, 'hash-a'), false)
    t.same((await store.get('user-1'))?.recoveryHashes, ['hash-x', 'hash-y'])
  })

  t.test('replaceRecoveryHashes refuses a factor id that is not the current one', async (t) => {
    const store = await subject.open()
    await store.create(factorFor('user-1', 'current'))

    t.equal(await store.replaceRecoveryHashes('user-1', 'previous', ['hash-x']), false)
    t.same((await store.get('user-1'))?.recoveryHashes, ['hash-a', 'hash-b', 'hash-c'])
  })

  t.test('K25: remove returns the removed factor itself, then null', async (t) => {
    const store = await subject.open()
    const factor = factorFor('user-1')
    await store.create(factor)

    t.strictSame(await store.remove('user-1'), factor)
    t.equal(await store.remove('user-1'), null)
    t.equal(await store.get('user-1'), null)
  })

  t.test('remove hands the factor to exactly one of concurrent callers', races, async (t) => {
    const store = await subject.open()
    await store.create(factorFor('user-1'))

    const removes = Array.from({ length: 20 }, async () => await store.remove('user-1'))
    const results = await Promise.all(removes)

    t.equal(results.filter((factor) => factor !== null).length, 1)
  })

  t.test('resealSecret replaces the secret ' +
    'while the previous sealed value still matches', async (t) => {
    const store = await subject.open()
    const factor = factorFor('user-1')
    await store.create(factor)

    const rotated = sealed('rotated', 'k2')
    t.equal(await store.resealSecret('user-1', factor.factorId, factor.secret, rotated), true)

    t.same((await store.get('user-1'))?.secret, rotated)
  })

  t.test('resealSecret leaves the secret alone ' +
    'once the previous sealed value no longer matches', async (t) => {
    const store = await subject.open()
    const factor = factorFor('user-1')
    await store.create(factor)
    const first = sealed('first', 'k2')
    await store.resealSecret('user-1', factor.factorId, factor.secret, first)

    const late = sealed('second', 'k2')
    t.equal(await store.resealSecret('user-1', factor.factorId, factor.secret, late), false)

    t.same((await store.get('user-1'))?.secret, first)
  })

  t.test('page walks all factors in user id order', async (t) => {
    const store = await subject.open()
    const ids = ['user-05', 'user-02', 'user-07', 'user-01', 'user-06', 'user-04', 'user-03']
    for (const id of ids) await store.create(factorFor(id))

    const walked: string[] = []
    let after: string | null = null
    // Bounded, so a store that ignores `after` fails instead of looping.
    for (let round = 0; round < ids.length + 1; round++) {
      const page: Factor[] = await store.page(after, 3)
      if (page.length === 0) break
      walked.push(...page.map((factor) => factor.userId))
      after = page[page.length - 1]?.userId ?? null
    }

    t.same(walked, [...ids].sort())
  })
}
