import { randomBytes } from 'node:crypto'
import t, { type Test } from 'tap'
import type { DecisionLog } from '@twofa/kit'
import type { Envelope, EventData, EventType } from '@twofa/events'
import { base32ToBytes } from '@twofa/testing'
import { RecoveryCodeHasher } from '../src/domain/recovery-codes.js'
import { SecretBox, type KeyRing } from '../src/domain/secret-box.js'
import { codeAt } from '../src/domain/totp-codes.js'
import { createTwoFactor, type TwoFactorSettings } from '../src/domain/two-factor.js'
import { MemoryFactorStore } from '../src/store/factors.js'
import { MemoryVolatileStore } from '../src/store/volatile.js'

const quiet: DecisionLog = { info: () => {}, warn: () => {}, error: () => {} }

const settings: TwoFactorSettings = {
  issuer: 'Acme',
  window: 1,
  challengeTtlSeconds: 300,
  challengeMaxAttempts: 5,
  enrollmentTtlSeconds: 600,
  enrollmentMaxAttempts: 5,
  lockout: { limit: 20, windowSeconds: 86_400, lockSeconds: 900 }
}

/** A 2FA domain on in-memory stores with a clock the test moves. */
function setup (overrides: Partial<TwoFactorSettings> = {}) {
  let now = Date.UTC(2026, 0, 1, 12, 0, 0)
  const events: Array<{ type: EventType, data: unknown }> = []
  const factors = new MemoryFactorStore()
  const state = new MemoryVolatileStore(() => now)
  const ring: KeyRing = { currentKid: 'k1', keys: new Map([['k1', randomBytes(32)]]) }

  const twoFactor = createTwoFactor({
    factors,
    state,
    box: new SecretBox(ring),
    hasher: new RecoveryCodeHasher('a pepper of at least thirty-two characters'),
    events: {
      emit: <T extends EventType>(type: T, data: EventData<T>) => {
        events.push({ type, data })
        return { id: String(events.length), type, occurred_at: new Date(now).toISOString(), data }
      }
    },
    settings: { ...settings, ...overrides },
    now: () => now
  })

  let secret: Buffer = Buffer.alloc(0)
  return {
    twoFactor,
    factors,
    events,
    /** Events written to the factor store's outbox, oldest first. */
    stored: async () =>
      (await factors.pending(1000)).map((entry) => JSON.parse(entry.raw) as Envelope),
    /** Types of every event, published at once or stored for the relay. */
    types: async () => [
      ...events.map((e) => e.type),
      ...(await factors.pending(1000)).map((entry) => (JSON.parse(entry.raw) as Envelope).type)
    ],
    /** The code the user's app shows now, or `steps` steps away. */
    code: async (steps = 0) => await codeAt(secret, Math.floor(now / 1000) + steps * 30),
    advance: (seconds: number) => { now += seconds * 1000 },
    /** Sets 2FA up for `userId` the way a user does, and returns the recovery codes. */
    async enroll (userId = 'u1') {
      const enrollment = await twoFactor.startEnrollment(userId, `${userId}@example.com`)
      secret = base32ToBytes(enrollment.secret)
      const code = await codeAt(secret, Math.floor(now / 1000))
      const enabled = await twoFactor.confirmEnrollment(userId, code, quiet)
      return enabled.recovery_codes
    }
  }
}

async function rejects (
  t: Test,
  promise: Promise<unknown>,
  code: string,
  extra: Record<string, unknown> = {}
) {
  await t.rejects(promise, { code, ...(Object.keys(extra).length ? { extra } : {}) })
}

t.test('setup returns a 160-bit base32 secret, ' +
  'an otpauth URI with issuer and account, and an SVG QR code', async (t) => {
  const { twoFactor } = setup()
  const enrollment = await twoFactor.startEnrollment('u1', 'alice@example.com')

  t.match(enrollment.secret, /^[A-Z2-7]{32}$/)
  t.equal(base32ToBytes(enrollment.secret).length, 20)
  t.match(
    enrollment.otpauth_url,
    /^otpauth:\/\/totp\/Acme:alice%40example\.com\?secret=[A-Z2-7]{32}&issuer=Acme$/
  )
  t.match(enrollment.qr_svg, /^<svg[^>]*xmlns="http:\/\/www\.w3\.org\/2000\/svg"/)
  t.equal(enrollment.expires_in, 600)
})

t.test('2FA stays off until a code confirms the pending secret', async (t) => {
  const { twoFactor, types } = setup()
  await twoFactor.startEnrollment('u1', 'a@example.com')
  t.same(await twoFactor.status('u1'), {
    enabled: false,
    enabled_at: null,
    recovery_codes_remaining: 0
  })
  t.same(await twoFactor.openChallenge('u1'), { required: false })
  t.notOk((await types()).includes('twofactor.enabled'))
})

t.test('confirming with a right code turns 2FA on, ' +
  'returns ten recovery codes and publishes twofactor.enabled', async (t) => {
  const { twoFactor, enroll, types } = setup()
  const codes = await enroll()

  t.equal(codes.length, 10)
  const status = await twoFactor.status('u1')
  t.equal(status.enabled, true)
  t.equal(status.recovery_codes_remaining, 10)
  t.ok((await types()).includes('twofactor.enabled'))
})

t.test('a wrong confirmation code is refused with the attempts left, ' +
  'and after five the setup must restart', async (t) => {
  const { twoFactor } = setup()
  await twoFactor.startEnrollment('u1', 'a@example.com')

  for (let left = 4; left >= 0; left--) {
    await rejects(t, twoFactor.confirmEnrollment('u1', '000000', quiet), 'invalid_code', {
      attempts_remaining: left
    })
  }
  await rejects(t, twoFactor.confirmEnrollment('u1', '000000', quiet), 'too_many_attempts')
  await rejects(t, twoFactor.confirmEnrollment('u1', '000000', quiet), 'no_pending_enrollment')
})

t.test('a pending setup expires', async (t) => {
  const { twoFactor, advance } = setup()
  await twoFactor.startEnrollment('u1', 'a@example.com')
  advance(601)
  await rejects(t, twoFactor.confirmEnrollment('u1', '123456', quiet), 'no_pending_enrollment')
})

t.test('setup is refused while 2FA is on', async (t) => {
  const { twoFactor, enroll } = setup()
  await enroll()
  await rejects(t, twoFactor.startEnrollment('u1', 'a@example.com'), 'already_enabled')
})

t.test('a login challenge opens only for a user with 2FA, ' +
  'and a right code answers it once', async (t) => {
  const { twoFactor, enroll, code, advance, types } = setup()
  await enroll()
  advance(30)

  const challenge = await twoFactor.openChallenge('u1')
  t.equal(challenge.required, true)
  if (!challenge.required) return

  const verified = await twoFactor.verifyChallenge(
    challenge.challenge_id,
    'u1',
    { totp_code: await code() },
    quiet
  )
  t.same(verified, { userId: 'u1', method: 'totp', recoveryCodesRemaining: -1 })
  t.ok((await types()).includes('twofactor.verification.succeeded'))

  advance(30)
  await rejects(
    t,
    twoFactor.verifyChallenge(challenge.challenge_id, 'u1', { totp_code: await code() }, quiet),
    'challenge_not_found'
  )
})

t.test('K08 a code accepted once is refused on a second challenge in the same step, ' +
  'and so is an older one', async (t) => {
  const { twoFactor, enroll, code, advance, types } = setup()
  await enroll()
  advance(30)
  const used = await code()

  const first = await twoFactor.openChallenge('u1')
  const second = await twoFactor.openChallenge('u1')
  if (!first.required || !second.required) throw new Error('challenges expected')

  await twoFactor.verifyChallenge(first.challenge_id, 'u1', { totp_code: used }, quiet)
  await rejects(
    t,
    twoFactor.verifyChallenge(second.challenge_id, 'u1', { totp_code: used }, quiet),
    'invalid_code'
  )
  t.ok((await types()).includes('twofactor.verification.failed'))

  // The previous step's code is inside the window but older than the accepted one.
  await rejects(
    t,
    twoFactor.verifyChallenge(second.challenge_id, 'u1', { totp_code: await code(-1) }, quiet),
    'invalid_code'
  )
  // A code from a later step still works.
  const ok = await twoFactor.verifyChallenge(
    second.challenge_id,
    'u1',
    { totp_code: await code(1) },
    quiet
  )
  t.equal(ok.method, 'totp')
})

t.test('K08 one code raced on two challenges succeeds once', async (t) => {
  const { twoFactor, enroll, code, advance } = setup()
  await enroll()
  advance(30)
  const shared = await code()

  const challenges = await Promise.all(Array.from({ length: 20 }, async () =>
    await twoFactor.openChallenge('u1')))
  const results = await Promise.allSettled(challenges.map(async (c) => {
    if (!c.required) throw new Error('challenge expected')
    return await twoFactor.verifyChallenge(c.challenge_id, 'u1', { totp_code: shared }, quiet)
  }))
  t.equal(results.filter((r) => r.status === 'fulfilled').length, 1)
})

t.test('five wrong codes kill a challenge; ' +
  'then it answers too_many_attempts even to a right code', async (t) => {
  const { twoFactor, enroll, code, advance } = setup()
  await enroll()
  advance(30)
  const challenge = await twoFactor.openChallenge('u1')
  if (!challenge.required) throw new Error('challenge expected')

  for (let left = 4; left >= 0; left--) {
    await rejects(
      t,
      twoFactor.verifyChallenge(challenge.challenge_id, 'u1', { totp_code: '000000' }, quiet),
      'invalid_code',
      { attempts_remaining: left }
    )
  }
  await rejects(
    t,
    twoFactor.verifyChallenge(challenge.challenge_id, 'u1', { totp_code: await code() }, quiet),
    'too_many_attempts'
  )
})

t.test('twenty concurrent wrong codes on one challenge are five attempts, ' +
  'not twenty', async (t) => {
  const { twoFactor, enroll, advance } = setup()
  await enroll()
  advance(30)
  const challenge = await twoFactor.openChallenge('u1')
  if (!challenge.required) throw new Error('challenge expected')

  const results = await Promise.allSettled(Array.from({ length: 20 }, async () =>
    await twoFactor.verifyChallenge(challenge.challenge_id, 'u1', { totp_code: '000000' }, quiet)))
  const codes = results.map((r) =>
    r.status === 'rejected' ? (r.reason as { code: string }).code : 'ok')
  t.equal(codes.filter((c) => c === 'invalid_code').length, 5)
  t.equal(codes.filter((c) => c === 'too_many_attempts').length, 15)
})

t.test('a challenge expires after its time to live', async (t) => {
  const { twoFactor, enroll, code, advance } = setup()
  await enroll()
  const challenge = await twoFactor.openChallenge('u1')
  if (!challenge.required) throw new Error('challenge expected')
  advance(301)
  await rejects(
    t,
    twoFactor.verifyChallenge(challenge.challenge_id, 'u1', { totp_code: await code() }, quiet),
    'challenge_not_found'
  )
})

t.test('a challenge belongs to its user', async (t) => {
  const { twoFactor, enroll, code, advance } = setup()
  await enroll('u1')
  advance(30)
  const challenge = await twoFactor.openChallenge('u1')
  if (!challenge.required) throw new Error('challenge expected')
  await rejects(
    t,
    twoFactor.verifyChallenge(challenge.challenge_id, 'u2', { totp_code: await code() }, quiet),
    'challenge_not_found'
  )
})

t.test('twenty wrong codes across challenges ' +
  'lock the account\'s second step and publish twofactor.locked once', async (t) => {
  const { twoFactor, enroll, code, advance, types } = setup()
  await enroll()
  advance(30)

  const refusals: unknown[] = []
  for (let i = 0; i < 4; i++) {
    const challenge = await twoFactor.openChallenge('u1')
    if (!challenge.required) throw new Error('challenge expected')
    for (let j = 0; j < 5; j++) {
      refusals.push(await twoFactor.verifyChallenge(
        challenge.challenge_id, 'u1', { totp_code: '000000' }, quiet
      ).then(() => null, (error: unknown) => error))
    }
  }
  t.equal((await types()).filter((type) => type === 'twofactor.locked').length, 1)
  t.match(refusals.slice(0, 19), Array(19).fill({ code: 'invalid_code' }))
  t.match(refusals[19], { code: 'account_locked', extra: { retry_after: 900 } },
    'the twentieth wrong code is answered with the lock it set')

  const fresh = await twoFactor.openChallenge('u1')
  if (!fresh.required) throw new Error('challenge expected')
  await rejects(
    t,
    twoFactor.verifyChallenge(fresh.challenge_id, 'u1', { totp_code: await code() }, quiet),
    'account_locked',
    { retry_after: 900 }
  )

  advance(901)
  const later = await twoFactor.openChallenge('u1')
  if (!later.required) throw new Error('challenge expected')
  const ok = await twoFactor.verifyChallenge(
    later.challenge_id,
    'u1',
    { totp_code: await code() },
    quiet
  )
  t.equal(ok.method, 'totp', 'the lock ends by itself')
})

t.test('a success resets the account\'s count of wrong codes', async (t) => {
  const { twoFactor, enroll, code, advance, types } = setup({
    lockout: { limit: 3, windowSeconds: 3600, lockSeconds: 900 }
  })
  await enroll()
  advance(30)
  const wrong = { totp_code: '000000' }

  const first = await twoFactor.openChallenge('u1')
  if (!first.required) throw new Error('challenge expected')
  await t.rejects(twoFactor.verifyChallenge(first.challenge_id, 'u1', wrong, quiet))
  await t.rejects(twoFactor.verifyChallenge(first.challenge_id, 'u1', wrong, quiet))
  await twoFactor.verifyChallenge(first.challenge_id, 'u1', { totp_code: await code() }, quiet)

  const second = await twoFactor.openChallenge('u1')
  if (!second.required) throw new Error('challenge expected')
  await t.rejects(twoFactor.verifyChallenge(second.challenge_id, 'u1', wrong, quiet))
  await t.rejects(twoFactor.verifyChallenge(second.challenge_id, 'u1', wrong, quiet))
  t.notOk((await types()).includes('twofactor.locked'))
})

t.test('a recovery code answers a challenge once, ' +
  'in any case and grouping, and says how many are left', async (t) => {
  const { twoFactor, enroll, types } = setup()
  const codes = await enroll()
  const typed = (codes[0] as string).toUpperCase().replaceAll('-', ' ')

  const first = await twoFactor.openChallenge('u1')
  if (!first.required) throw new Error('challenge expected')
  const ok = await twoFactor.verifyChallenge(
    first.challenge_id,
    'u1',
    { recovery_code: typed },
    quiet
  )
  t.same(ok, { userId: 'u1', method: 'recovery_code', recoveryCodesRemaining: 9 })
  t.ok((await types()).includes('twofactor.recovery_code.used'))

  const second = await twoFactor.openChallenge('u1')
  if (!second.required) throw new Error('challenge expected')
  const reused = { recovery_code: codes[0] as string }
  await rejects(
    t,
    twoFactor.verifyChallenge(second.challenge_id, 'u1', reused, quiet),
    'invalid_code'
  )
  t.equal((await twoFactor.status('u1')).recovery_codes_remaining, 9)
})

t.test('one recovery code raced on twenty challenges succeeds once', async (t) => {
  const { twoFactor, enroll } = setup()
  const codes = await enroll()

  const challenges = await Promise.all(Array.from({ length: 20 }, async () =>
    await twoFactor.openChallenge('u1')))
  const results = await Promise.allSettled(challenges.map(async (c) => {
    if (!c.required) throw new Error('challenge expected')
    const proof = { recovery_code: codes[3] as string }
    return await twoFactor.verifyChallenge(c.challenge_id, 'u1', proof, quiet)
  }))
  t.equal(results.filter((r) => r.status === 'fulfilled').length, 1)
  t.equal((await twoFactor.status('u1')).recovery_codes_remaining, 9)
})

t.test('new recovery codes need a current code, and the old set stops working', async (t) => {
  const { twoFactor, enroll, code, advance } = setup()
  const old = await enroll()
  advance(30)

  await rejects(t, twoFactor.regenerateRecoveryCodes('u1', '000000', quiet), 'invalid_code')
  const fresh = await twoFactor.regenerateRecoveryCodes('u1', await code(), quiet)
  t.equal(fresh.recovery_codes.length, 10)
  t.equal(fresh.recovery_codes.filter((c) => old.includes(c)).length, 0)

  const challenge = await twoFactor.openChallenge('u1')
  if (!challenge.required) throw new Error('challenge expected')
  const stale = { recovery_code: old[0] as string }
  await rejects(
    t,
    twoFactor.verifyChallenge(challenge.challenge_id, 'u1', stale, quiet),
    'invalid_code'
  )
  const ok = await twoFactor.verifyChallenge(
    challenge.challenge_id,
    'u1',
    { recovery_code: fresh.recovery_codes[0] as string },
    quiet
  )
  t.equal(ok.method, 'recovery_code')
})

t.test('turning 2FA off needs a current code or a recovery code, ' +
  'and publishes twofactor.disabled', async (t) => {
  const { twoFactor, enroll, advance, stored } = setup()
  const codes = await enroll()
  advance(30)

  await rejects(t, twoFactor.disable('u1', { totp_code: '000000' }, quiet), 'invalid_code')
  t.same(
    await twoFactor.disable('u1', { recovery_code: codes[1] as string }, quiet),
    { enabled: false }
  )
  t.same(await twoFactor.openChallenge('u1'), { required: false })
  t.match((await stored()).at(-1), {
    type: 'twofactor.disabled',
    data: { user_id: 'u1', reason: 'user', actor_id: 'u1' }
  })
  await rejects(
    t,
    twoFactor.disable('u1', { recovery_code: codes[2] as string }, quiet),
    'not_enabled'
  )
})

t.test('an admin turns 2FA off for a locked-out user, which also lifts the lock', async (t) => {
  const { twoFactor, enroll, stored } = setup({
    lockout: { limit: 1, windowSeconds: 60, lockSeconds: 900 }
  })
  await enroll()
  const challenge = await twoFactor.openChallenge('u1')
  if (!challenge.required) throw new Error('challenge expected')
  await t.rejects(
    twoFactor.verifyChallenge(challenge.challenge_id, 'u1', { totp_code: '000000' }, quiet)
  )

  t.same(await twoFactor.adminDisable('u1', 'admin-1', quiet), { enabled: false })
  t.match((await stored()).at(-1), {
    type: 'twofactor.disabled',
    data: { reason: 'admin', actor_id: 'admin-1' }
  })
  await rejects(t, twoFactor.adminDisable('u1', 'admin-1', quiet), 'not_enabled')

  await twoFactor.startEnrollment('u1', 'a@example.com')
  t.pass('the user can set 2FA up again')
})

t.test('an admin cannot turn off their own 2FA through the admin route', async (t) => {
  const { twoFactor, enroll, types } = setup()
  await enroll()

  await rejects(t, twoFactor.adminDisable('u1', 'u1', quiet), 'own_account')
  t.equal((await twoFactor.status('u1')).enabled, true)
  t.notOk((await types()).includes('twofactor.disabled'))
})

t.test('a token that outlives its deleted account cannot turn 2FA on again', async (t) => {
  const { twoFactor, enroll } = setup()
  await enroll()
  const started = await twoFactor.startEnrollment('u2', 'b@example.com')

  await twoFactor.removeForDeletedUser('u1', quiet)
  await twoFactor.removeForDeletedUser('u2', quiet)

  await rejects(t, twoFactor.startEnrollment('u1', 'a@example.com'), 'account_deleted')
  await rejects(t, twoFactor.confirmEnrollment('u2', '000000', quiet), 'no_pending_enrollment')
  t.ok(started.secret, 'the pending setup of u2 was dropped with the account')
})

t.test('removing a deleted user\'s factor is safe to repeat and publishes once', async (t) => {
  const { twoFactor, enroll, types } = setup()
  await enroll()
  await twoFactor.removeForDeletedUser('u1', quiet)
  await twoFactor.removeForDeletedUser('u1', quiet)
  t.equal((await types()).filter((type) => type === 'twofactor.disabled').length, 1)
  t.equal((await twoFactor.status('u1')).enabled, false)
})

t.test('a factor turned off after the password step voids the open challenge', async (t) => {
  const { twoFactor, enroll, code, advance } = setup()
  await enroll()
  advance(30)
  const challenge = await twoFactor.openChallenge('u1')
  if (!challenge.required) throw new Error('challenge expected')
  await twoFactor.adminDisable('u1', 'admin', quiet)
  await rejects(
    t,
    twoFactor.verifyChallenge(challenge.challenge_id, 'u1', { totp_code: await code() }, quiet),
    'challenge_not_found'
  )
})

t.test('the secret is stored encrypted, never as its base32 or raw bytes', async (t) => {
  const { twoFactor, factors } = setup()
  const enrollment = await twoFactor.startEnrollment('u1', 'a@example.com')
  const secret = base32ToBytes(enrollment.secret)
  const code = await codeAt(secret, Math.floor(Date.UTC(2026, 0, 1, 12) / 1000))
  await twoFactor.confirmEnrollment('u1', code, quiet)

  const stored = JSON.stringify(await factors.get('u1'))
  t.notMatch(stored, enrollment.secret)
  t.notMatch(stored, secret.toString('base64'))
  t.notMatch(stored, secret.toString('hex'))
})

t.test('a replayed code says it was already used, ' +
  'so the person waits for the next one', async (t) => {
  const { twoFactor, enroll, code, advance } = setup()
  await enroll()
  advance(30)
  const used = await code()
  const first = await twoFactor.openChallenge('u1')
  const second = await twoFactor.openChallenge('u1')
  if (!first.required || !second.required) throw new Error('challenges expected')

  await twoFactor.verifyChallenge(first.challenge_id, 'u1', { totp_code: used }, quiet)
  const replay = twoFactor.verifyChallenge(second.challenge_id, 'u1', { totp_code: used }, quiet)
  await t.rejects(replay, {
    code: 'invalid_code',
    message: 'This code was already used; wait for the next one.',
    extra: { reason: 'code_already_used', attempts_remaining: 4 }
  })
})

t.test('different recovery codes used at once each count, ' +
  'and the count left is exact', async (t) => {
  const { twoFactor, enroll } = setup()
  const codes = await enroll()

  const open = async () => await twoFactor.openChallenge('u1')
  const challenges = await Promise.all(codes.slice(0, 8).map(open))
  const results = await Promise.all(challenges.map(async (c, i) => {
    if (!c.required) throw new Error('challenge expected')
    const proof = { recovery_code: codes[i] as string }
    return await twoFactor.verifyChallenge(c.challenge_id, 'u1', proof, quiet)
  }))
  const remaining = results.map((r) => r.recoveryCodesRemaining).sort((a, b) => a - b)
  t.same(remaining, [2, 3, 4, 5, 6, 7, 8, 9], 'each use saw the uses before it')
  t.equal((await twoFactor.status('u1')).recovery_codes_remaining, 2)
})

t.test('of concurrent turn-offs with different recovery codes exactly one succeeds', async (t) => {
  const { twoFactor, enroll, types } = setup()
  const codes = await enroll()
  const results = await Promise.allSettled(codes.slice(0, 4).map(async (code) =>
    await twoFactor.disable('u1', { recovery_code: code }, quiet)))
  t.equal(results.filter((r) => r.status === 'fulfilled').length, 1)
  t.equal((await types()).filter((type) => type === 'twofactor.disabled').length, 1)
})

t.test('wrong codes sent at once cannot exceed the account budget', async (t) => {
  const lockout = { limit: 20, windowSeconds: 3600, lockSeconds: 900 }
  const { twoFactor, enroll, types } = setup({ lockout })
  await enroll()
  const open = async () => await twoFactor.openChallenge('u1')
  const challenges = await Promise.all(Array.from({ length: 40 }, open))
  const results = await Promise.allSettled(challenges.map(async (c) => {
    if (!c.required) throw new Error('challenge expected')
    return await twoFactor.verifyChallenge(c.challenge_id, 'u1', { totp_code: '000000' }, quiet)
  }))
  const codes = results.map((r) =>
    r.status === 'rejected' ? (r.reason as { code: string }).code : 'ok')
  // Twenty are checked; the one that spends the budget is answered with its lock.
  t.equal(codes.filter((c) => c === 'invalid_code').length, 19, 'nineteen answered as wrong')
  t.equal(codes.filter((c) => c === 'account_locked').length, 21)
  t.equal((await types()).filter((type) => type === 'twofactor.locked').length, 1)
})

t.test('different recovery codes racing on one sign-in ' +
  'use up only the winner\'s code', async (t) => {
  const { twoFactor, enroll } = setup()
  const codes = await enroll()
  const challenge = await twoFactor.openChallenge('u1')
  if (!challenge.required) throw new Error('challenge expected')

  const results = await Promise.allSettled(codes.slice(0, 3).map(async (code) =>
    await twoFactor.verifyChallenge(challenge.challenge_id, 'u1', { recovery_code: code }, quiet)))
  t.equal(results.filter((r) => r.status === 'fulfilled').length, 1)
  const refusals = results.flatMap((r) =>
    r.status === 'rejected' ? [(r.reason as { code: string }).code] : [])
  t.same(refusals, ['challenge_not_found', 'challenge_not_found'])
  t.equal((await twoFactor.status('u1')).recovery_codes_remaining, 9, 'the losers keep their codes')
})

t.test('two right TOTP answers racing on one sign-in complete it once', async (t) => {
  const { twoFactor, enroll, code, advance } = setup()
  await enroll()
  advance(30)
  const challenge = await twoFactor.openChallenge('u1')
  if (!challenge.required) throw new Error('challenge expected')

  const answers = [await code(0), await code(1)]
  const results = await Promise.allSettled(answers.map(async (totp) =>
    await twoFactor.verifyChallenge(challenge.challenge_id, 'u1', { totp_code: totp }, quiet)))
  t.equal(results.filter((r) => r.status === 'fulfilled').length, 1)
})
