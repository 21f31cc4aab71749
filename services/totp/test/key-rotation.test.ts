import { randomBytes, randomUUID } from 'node:crypto'
import t from 'tap'
import { createEnvelope } from '@twofa/events'
import { resealSecrets } from '../src/domain/key-rotation.js'
import { parseKeyRing, SecretBox, type KeyRing } from '../src/domain/secret-box.js'
import { MemoryFactorStore, type FactorStore } from '../src/store/factors.js'

const keys = `old:${randomBytes(32).toString('base64')},new:${randomBytes(32).toString('base64')}`
const under = (kid: string) => new SecretBox(parseKeyRing(keys, kid) as KeyRing)
const log = { info: () => {}, warn: () => {}, error: () => {} }

async function store (owners: Record<string, string>): Promise<{
  factors: MemoryFactorStore
  secrets: Map<string, Buffer>
}> {
  const factors = new MemoryFactorStore()
  const secrets = new Map<string, Buffer>()
  for (const [userId, kid] of Object.entries(owners)) {
    const secret = randomBytes(20)
    const factorId = randomUUID()
    secrets.set(userId, secret)
    const sealed = under(kid).seal(secret, userId)
    await factors.create(
      { userId, factorId, secret: sealed, recoveryHashes: [], enabledAt: new Date() },
      createEnvelope('twofactor.enabled', { user_id: userId, factor_id: factorId })
    )
  }
  return { factors, secrets }
}

t.test('secrets under an old key are re-sealed under the current one and open the same',
  async (t) => {
    const { factors, secrets } = await store({ a: 'old', b: 'new', c: 'old' })

    const tally = await resealSecrets(factors, under('new'), log, { batch: 2, after: null })

    t.match(tally, { scanned: 3, resealed: 2, alreadyCurrent: 1, skipped: 0, failed: 0 })
    for (const [userId, secret] of secrets) {
      const factor = await factors.get(userId)
      t.equal(factor?.secret.kid, 'new')
      t.same(factor && under('new').open(factor.secret, userId), secret)
    }
  })

t.test('a factor removed between reading and re-sealing is counted as changed', async (t) => {
  const { factors } = await store({ a: 'old' })
  const factor = await factors.get('a')
  // The user turns 2FA off while the run holds the page it read.
  const racing: FactorStore = Object.assign(Object.create(factors) as FactorStore, {
    page: async (after: string | null, limit: number) => {
      const page = await factors.page(after, limit)
      const factorId = factor?.factorId as string
      await factors.remove('a', factorId, createEnvelope('twofactor.disabled',
        { user_id: 'a', factor_id: factorId, reason: 'user', actor_id: 'a' }))
      return page
    }
  })

  const tally = await resealSecrets(racing, under('new'), log, { batch: 10, after: null })

  t.match(tally, { scanned: 1, resealed: 0, skipped: 1, failed: 0 })
})

t.test('a run given a user id starts after it and reports pages as it goes', async (t) => {
  const { factors } = await store({ a: 'old', b: 'old', c: 'old' })
  const pages: number[] = []

  const tally = await resealSecrets(factors, under('new'), log, {
    batch: 1,
    after: 'a',
    onPage: (progress) => pages.push(progress.scanned)
  })

  t.match(tally, { scanned: 2, resealed: 2, lastUserId: 'c' })
  t.same(pages, [1, 2])
  t.equal((await factors.get('a'))?.secret.kid, 'old', 'the user before the start is untouched')
})
