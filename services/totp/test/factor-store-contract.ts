import type { Test } from 'tap'
import { createEnvelope, type Envelope } from '@twofa/events'
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

/** An event of the kind each change carries into the outbox. */
function eventFor (userId: string, label = 'change'): Envelope {
  return createEnvelope('twofactor.disabled', {
    user_id: userId,
    factor_id: label,
    reason: 'admin',
    actor_id: null
  })
}

/**
 * The behaviour every FactorStore must have. The factor service relies on
 * each of these to refuse replays and keep one factor per user.
 */
export function factorStoreContract (t: Test, subject: FactorStoreSubject): void {
  const change = eventFor('user-1')
  const races = { skip: subject.skipRaces ?? false }

  t.test('get returns the factor create stored', async (t) => {
    const store = await subject.open()
    const factor = factorFor('user-1')

    t.equal(await store.create(factor, eventFor('x')), true)

    t.strictSame(await store.get('user-1'), factor)
  })

  t.test('a user marked deleted gets no factor, and stays marked after the outbox empties',
    async (t) => {
      const store = await subject.open()
      const factor = factorFor('gone')
      await store.create(factor, eventFor('gone', 'on'))

      await store.markDeleted('gone')
      await store.remove('gone', factor.factorId, eventFor('gone', 'off'))
      for (const entry of await store.pending(100)) await store.done(entry)

      t.equal(await store.isDeleted('gone'), true)
      t.equal(await store.create(factorFor('gone', 'again'), eventFor('gone')), false)
      t.equal(await store.get('gone'), null)
      t.equal(await store.isDeleted('someone-else'), false)
      t.same(await store.page(null, 10), [], 'key rotation sees no factor for it')
    })

  t.test('marking a user without a factor deleted still refuses one later', async (t) => {
    const store = await subject.open()

    await store.markDeleted('never-enrolled')

    t.equal(await store.create(factorFor('never-enrolled'), eventFor('x')), false)
    t.same(await store.pending(10), [], 'the mark is no event')
  })

  t.test('get returns null for a user without a factor', async (t) => {
    const store = await subject.open()

    t.equal(await store.get('nobody'), null)
  })

  t.test('create refuses a second factor for the same user', async (t) => {
    const store = await subject.open()
    await store.create(factorFor('user-1', 'first'), eventFor('x'))

    t.equal(await store.create(factorFor('user-1', 'second'), eventFor('x')), false)
    t.equal((await store.get('user-1'))?.factorId, 'first')
  })

  t.test('consumeRecoveryHash succeeds ' +
    'for exactly one of 20 concurrent callers with the same hash', races, async (t) => {
    const store = await subject.open()
    const factor = factorFor('user-1')
    await store.create(factor, eventFor('x'))

    const consumes = Array.from({ length: 20 }, async () =>
      await store.consumeRecoveryHash('user-1', factor.factorId, 'hash-b', change))
    const results = await Promise.all(consumes)

    t.equal(results.filter(Boolean).length, 1)
    t.same((await store.get('user-1'))?.recoveryHashes, ['hash-a', 'hash-c'])
  })

  t.test('consumeRecoveryHash refuses a hash ' +
    'under a factor id that is not the current one', async (t) => {
    const store = await subject.open()
    await store.create(factorFor('user-1', 'current'), eventFor('x'))

    t.equal(await store.consumeRecoveryHash('user-1', 'previous', 'hash-a', change), false)
    t.same((await store.get('user-1'))?.recoveryHashes, ['hash-a', 'hash-b', 'hash-c'])
  })

  t.test('replaceRecoveryHashes kills the old set', async (t) => {
    const store = await subject.open()
    const factor = factorFor('user-1')
    await store.create(factor, eventFor('x'))

    const fresh = ['hash-x', 'hash-y']
    t.equal(await store.replaceRecoveryHashes('user-1', factor.factorId, fresh, change), true)

    t.equal(await store.consumeRecoveryHash('user-1', factor.factorId, 'hash-a', change), false)
    t.same((await store.get('user-1'))?.recoveryHashes, ['hash-x', 'hash-y'])
  })

  t.test('replaceRecoveryHashes refuses a factor id that is not the current one', async (t) => {
    const store = await subject.open()
    await store.create(factorFor('user-1', 'current'), eventFor('x'))

    t.equal(await store.replaceRecoveryHashes('user-1', 'previous', ['hash-x'], change), false)
    t.same((await store.get('user-1'))?.recoveryHashes, ['hash-a', 'hash-b', 'hash-c'])
  })

  t.test('K25: remove returns the removed factor itself, then null', async (t) => {
    const store = await subject.open()
    const factor = factorFor('user-1')
    await store.create(factor, eventFor('x'))

    t.strictSame(await store.remove('user-1', factor.factorId, change), factor)
    t.equal(await store.remove('user-1', factor.factorId, change), null)
    t.equal(await store.get('user-1'), null)
  })

  t.test('remove hands the factor to exactly one of concurrent callers', races, async (t) => {
    const store = await subject.open()
    const factor = factorFor('user-1')
    await store.create(factor, eventFor('x'))

    const removes = Array.from({ length: 20 }, async () =>
      await store.remove('user-1', factor.factorId, change))
    const results = await Promise.all(removes)

    t.equal(results.filter((factor) => factor !== null).length, 1)
  })

  t.test('resealSecret replaces the secret ' +
    'while the previous sealed value still matches', async (t) => {
    const store = await subject.open()
    const factor = factorFor('user-1')
    await store.create(factor, eventFor('x'))

    const rotated = sealed('rotated', 'k2')
    t.equal(await store.resealSecret('user-1', factor.factorId, factor.secret, rotated), true)

    t.same((await store.get('user-1'))?.secret, rotated)
  })

  t.test('resealSecret leaves the secret alone ' +
    'once the previous sealed value no longer matches', async (t) => {
    const store = await subject.open()
    const factor = factorFor('user-1')
    await store.create(factor, eventFor('x'))
    const first = sealed('first', 'k2')
    await store.resealSecret('user-1', factor.factorId, factor.secret, first)

    const late = sealed('second', 'k2')
    t.equal(await store.resealSecret('user-1', factor.factorId, factor.secret, late), false)

    t.same((await store.get('user-1'))?.secret, first)
  })

  t.test('page walks all factors in user id order', async (t) => {
    const store = await subject.open()
    const ids = ['user-05', 'user-02', 'user-07', 'user-01', 'user-06', 'user-04', 'user-03']
    for (const id of ids) await store.create(factorFor(id), eventFor('x'))

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

  t.test('remove refuses a factor id that is not the current one', async (t) => {
    const store = await subject.open()
    await store.create(factorFor('user-1', 'current'), eventFor('x'))

    t.equal(await store.remove('user-1', 'previous', change), null)
    t.equal((await store.get('user-1'))?.factorId, 'current')
  })

  t.test('after remove the user can turn 2FA on again', async (t) => {
    const store = await subject.open()
    const first = factorFor('user-1', 'first')
    await store.create(first, eventFor('x'))
    await store.remove('user-1', 'first', change)

    t.equal(await store.create(factorFor('user-1', 'second'), eventFor('y')), true)
    t.equal((await store.get('user-1'))?.factorId, 'second')
    t.same((await store.page(null, 10)).map((f) => f.factorId), ['second'])
  })

  t.test('each change leaves its event in the outbox, in order, until done', async (t) => {
    const store = await subject.open()
    const factor = factorFor('user-1')
    const events = ['e1', 'e2', 'e3', 'e4'].map((label) => eventFor('user-1', label))
    await store.create(factor, events[0] as Envelope)
    await store.consumeRecoveryHash('user-1', factor.factorId, 'hash-a', events[1] as Envelope)
    await store.replaceRecoveryHashes('user-1', factor.factorId, ['hash-z'], events[2] as Envelope)
    await store.remove('user-1', factor.factorId, events[3] as Envelope)

    const pending = await store.pending(10)
    t.same(pending.map((entry) => entry.owner), ['user-1', 'user-1', 'user-1', 'user-1'])
    t.same(pending.map((entry) => (JSON.parse(entry.raw) as Envelope).id), events.map((e) => e.id))

    for (const entry of pending.slice(0, 2)) await store.done(entry)
    t.same((await store.pending(10)).map((e) => (JSON.parse(e.raw) as Envelope).id),
      events.slice(2).map((e) => e.id))
    for (const entry of await store.pending(10)) await store.done(entry)
    t.same(await store.pending(10), [])
  })

  t.test('a change that does not happen leaves no event', async (t) => {
    const store = await subject.open()
    const factor = factorFor('user-1')
    await store.create(factor, eventFor('x'))
    for (const entry of await store.pending(10)) await store.done(entry)

    await store.create(factorFor('user-1', 'second'), change)
    await store.consumeRecoveryHash('user-1', factor.factorId, 'not-a-hash', change)
    await store.replaceRecoveryHashes('user-1', 'previous', ['h'], change)
    await store.remove('user-1', 'previous', change)

    t.same(await store.pending(10), [])
  })

  t.test('pending returns at most the number asked for, across owners', async (t) => {
    const store = await subject.open()
    for (const id of ['user-a', 'user-b', 'user-c']) await store.create(factorFor(id), eventFor(id))
    t.equal((await store.pending(2)).length, 2)
    t.equal((await store.pending(10)).length, 3)
  })
}
