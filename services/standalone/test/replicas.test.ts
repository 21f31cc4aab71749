import t from 'tap'
import { clusterBackings, redisKeysWithoutTtl, startCluster } from '@twofa/testing'
import { challenge, enrolled, PASSWORD, startOfStep, verify } from './flows.js'

const backings = await clusterBackings()
t.teardown(backings.stop)
const { mongo } = backings
const skip = backings.skip ||
  ('skip' in mongo && `${mongo.skip}; replicas on in-memory stores share no factors or users`)

/*
 * Two replicas each of the totp and auth services against one Redis: every
 * race below is spread over both, and every guarantee must hold across them.
 */
t.test('two replicas of totp and auth keep every guarantee under races', { skip }, async (t) => {
  const cluster = await startCluster(t, backings, {
    totpReplicas: 2,
    authReplicas: 2,
    env: {
      RATE_LIMIT_PER_MINUTE: '0',
      REGISTRATION_RATE_PER_MINUTE: '0',
      SIGNIN_FAILURE_LIMIT: '1000',
      ADMIN_REQUIRE_2FA: 'false'
    }
  })
  const step = await startOfStep()

  t.test('one TOTP code raced on twenty challenges succeeds once', async (t) => {
    const user = await enrolled(cluster, 'race-code@example.com', step)
    const temps = await Promise.all(Array.from({ length: 20 }, async (_, i) =>
      await challenge(cluster, 'race-code@example.com', i)))
    const answers = await Promise.all(temps.map(async (temp, i) =>
      await verify(cluster, { temp_token: temp, totp_code: user.codeAt(step) }, i)))
    t.equal(answers.filter((a) => a.status === 200).length, 1)
    t.ok(answers.every((a) => a.status === 200 || a.body.error === 'invalid_code'))
  })

  t.test('the same code is refused on the other replica after one accepted it', async (t) => {
    const user = await enrolled(cluster, 'cross@example.com', step)
    const verifyOnReplica = async (replica: number) => await verify(cluster, {
      temp_token: await challenge(cluster, 'cross@example.com', replica),
      totp_code: user.codeAt(step)
    }, replica)
    const first = await verifyOnReplica(0)
    t.equal(first.status, 200)
    const second = await verifyOnReplica(1)
    t.same([second.status, second.body.reason], [401, 'code_already_used'])
  })

  t.test('one recovery code raced on twenty challenges succeeds once', async (t) => {
    const user = await enrolled(cluster, 'race-recovery@example.com', step)
    const temps = await Promise.all(Array.from({ length: 20 }, async (_, i) =>
      await challenge(cluster, 'race-recovery@example.com', i)))
    const answers = await Promise.all(temps.map(async (temp, i) =>
      await verify(cluster, { temp_token: temp, recovery_code: user.recoveryCodes[0] }, i)))
    t.equal(answers.filter((a) => a.status === 200).length, 1)

    const status = await cluster.call(`${cluster.totp[1] as string}/api/2fa/status`, {
      token: user.token
    })
    t.equal(status.body.recovery_codes_remaining, 9)
  })

  t.test('twenty concurrent wrong codes on one challenge ' +
    'spend exactly its five attempts', async (t) => {
    await enrolled(cluster, 'race-attempts@example.com', step)
    const temp = await challenge(cluster, 'race-attempts@example.com')
    const answers = await Promise.all(Array.from({ length: 20 }, async (_, i) =>
      await verify(cluster, { temp_token: temp, totp_code: '000000' }, i)))
    t.equal(answers.filter((a) => a.status === 401).length, 5)
    t.equal(answers.filter((a) => a.status === 429).length, 15)
  })

  t.test('thirty concurrent wrong codes on thirty challenges ' +
    'check at most twenty and lock the account', async (t) => {
    const user = await enrolled(cluster, 'race-lock@example.com', step)
    const temps = await Promise.all(Array.from({ length: 30 }, async (_, i) =>
      await challenge(cluster, 'race-lock@example.com', i)))
    const answers = await Promise.all(temps.map(async (temp, i) =>
      await verify(cluster, { temp_token: temp, totp_code: '000000' }, i)))
    // Twenty are checked: nineteen answered as wrong, and the one that spent
    // the budget answered as the lock it set; the other ten wait out the lock.
    t.equal(answers.filter((a) => a.status === 401).length, 19)
    t.equal(answers.filter((a) => a.status === 429).length, 11)
    t.ok(answers.filter((a) => a.status === 429).every((a) => a.body.error === 'account_locked'))

    const after = await verify(cluster, {
      temp_token: await challenge(cluster, 'race-lock@example.com', 1),
      totp_code: user.codeAt(step + 1)
    }, 1)
    t.same(
      [after.status, after.body.error],
      [429, 'account_locked'],
      'even a right code waits out the lock'
    )
  })

  t.test('twenty registrations of one email in two cases create one account', async (t) => {
    const emails = Array.from({ length: 20 }, (_, i) =>
      i % 2 === 0 ? 'twin@example.com' : 'TWIN@Example.com')
    const answers = await Promise.all(emails.map(async (email) =>
      await cluster.call(`${cluster.user}/api/users`, {
        body: { email, password: PASSWORD, name: 'Twin' }
      })))
    t.equal(answers.filter((a) => a.status === 201).length, 1)
    t.equal(answers.filter((a) => a.status === 409).length, 19)
  })

  t.test('every key the services wrote in Redis has a time to live', async (t) => {
    const { keys, forever } = await redisKeysWithoutTtl(cluster.redisUrl, cluster.prefix)
    t.ok(keys.length > 10, `${keys.length} keys written`)
    t.same(forever, [], 'none lives forever')
  })
})
