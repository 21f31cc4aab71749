import t from 'tap'
import { authenticatorCode, clusterBackings, startCluster } from '@twofa/testing'
import { eventually, PASSWORD, startOfStep } from './flows.js'

const ADMIN = { email: 'root@example.com', password: 'admin password 123' }

const backings = await clusterBackings()
t.teardown(backings.stop)

t.test('the three services as separate processes ' +
  'walk the whole guide over HTTP', { skip: backings.skip }, async (t) => {
  const cluster = await startCluster(t, backings, {
    serviceEnv: {
      user: { ADMIN_EMAIL: ADMIN.email, ADMIN_PASSWORD: ADMIN.password },
      totp: { TOTP_ISSUER: 'E2E' }
    }
  })
  const call = cluster.call
  const auth = cluster.auth[0] as string
  const totp = cluster.totp[0] as string
  const users = cluster.user
  const secretsSeen: string[] = [PASSWORD, ADMIN.password, ...cluster.secrets]
  const signIn = async () => await call(`${auth}/api/sso/token`, {
    body: { email: 'alice@example.com', password: PASSWORD }
  })
  const verify2fa = async (body: Record<string, unknown>) =>
    await call(`${auth}/api/sso/verify-2fa`, { body })

  // Register and sign in with the password alone.
  const registered = await call(`${users}/api/users`, {
    body: { email: 'Alice@Example.com', password: PASSWORD, name: 'Alice' }
  })
  t.equal(registered.status, 201, 'registered')
  const plain = await signIn()
  t.match(plain.body, { success: true, token_type: 'Bearer' })
  const token = plain.body.token as string
  secretsSeen.push(token)

  // Set up and enable, with codes computed here from the secret.
  const step = await startOfStep()
  const codeAt = (s: number): string => authenticatorCode(setup.body.secret, s * 30)
  const setup = await call(`${totp}/api/2fa/setup`, { method: 'POST', token })
  t.match(setup.body, {
    secret: /^[A-Z2-7]{32}$/,
    otpauth_url: /^otpauth:\/\/totp\/E2E:/,
    qr_svg: /^<svg/
  })
  secretsSeen.push(setup.body.secret)

  // The previous step's code confirms (drift window), leaving this step's for the login.
  const enabled = await call(`${totp}/api/2fa/enable`, {
    body: { totp_code: codeAt(step - 1) },
    token
  })
  t.equal(enabled.status, 200, 'enabled')
  const recovery = enabled.body.recovery_codes as string[]
  t.equal(recovery.length, 10)
  secretsSeen.push(...recovery, codeAt(step - 1), codeAt(step), codeAt(step + 1))

  await eventually(
    async () => {
      const profile = await call(`${users}/api/users/me`, { token })
      return profile.body.two_factor_enabled === true
    },
    'the profile to show 2FA on after twofactor.enabled',
    30_000
  )
  t.pass('the profile shows 2FA on once the event arrives')

  // Log in with 2FA.
  const challenge = await signIn()
  t.match(challenge.body, { requires_2fa: true, temp_token: /^temp_/ })
  secretsSeen.push(challenge.body.temp_token)
  const verified = await verify2fa({
    temp_token: challenge.body.temp_token,
    totp_code: codeAt(step)
  })
  t.match(verified.body, { success: true, token: String, method: 'totp' })
  const payload = JSON.parse(Buffer.from(verified.body.token.split('.')[1], 'base64url').toString())
  t.same(payload.amr, ['pwd', 'otp'])
  secretsSeen.push(verified.body.token)
  const me = await call(`${users}/api/users/me`, { token: verified.body.token })
  t.equal(
    me.body.email,
    'Alice@Example.com',
    'the other services accept the 2FA token through the JWKS'
  )

  // The same code on a new challenge is a replay.
  const second = await signIn()
  const replay = await verify2fa({ temp_token: second.body.temp_token, totp_code: codeAt(step) })
  t.equal(replay.status, 401)
  t.equal(replay.body.error, 'invalid_code', 'replay refused')

  // Five wrong codes kill a challenge.
  const third = await signIn()
  for (let left = 4; left >= 0; left--) {
    const wrong = await verify2fa({ temp_token: third.body.temp_token, totp_code: '000000' })
    t.same([wrong.status, wrong.body.attempts_remaining], [401, left])
  }
  const dead = await verify2fa({ temp_token: third.body.temp_token, totp_code: codeAt(step + 1) })
  t.same([dead.status, dead.body.error], [429, 'too_many_attempts'])

  // A recovery code works once.
  const fourth = await signIn()
  const byRecovery = await verify2fa({
    temp_token: fourth.body.temp_token,
    recovery_code: (recovery[0] as string).toUpperCase()
  })
  t.match(byRecovery.body, { success: true, method: 'recovery_code', recovery_codes_remaining: 9 })
  const fifth = await signIn()
  const reused = await verify2fa({ temp_token: fifth.body.temp_token, recovery_code: recovery[0] })
  t.equal(reused.body.error, 'invalid_code', 'a used recovery code is refused')

  // Two racing uses of one recovery code succeed once.
  const racers = await Promise.all([1, 2, 3, 4].map(async () =>
    (await signIn()).body.temp_token as string))
  const raced = await Promise.all(racers.map(async (temp) =>
    await verify2fa({ temp_token: temp, recovery_code: recovery[1] })))
  t.equal(raced.filter((r) => r.status === 200).length, 1, 'one of four racing uses succeeds')

  // The admin, signed in with two factors as admin routes require, turns
  // Alice's 2FA off; she signs in with the password alone again.
  const adminFirst = await call(`${auth}/api/sso/token`, { body: ADMIN })
  const adminSetup = await call(`${totp}/api/2fa/setup`, {
    method: 'POST',
    token: adminFirst.body.token
  })
  const adminStep = Math.floor(Date.now() / 1000 / 30)
  const adminCode = (s: number): string => authenticatorCode(adminSetup.body.secret, s * 30)
  const adminOn = await call(`${totp}/api/2fa/enable`, {
    body: { totp_code: adminCode(adminStep - 1) },
    token: adminFirst.body.token
  })
  t.equal(adminOn.status, 200, 'the admin turned 2FA on')
  const adminChallenge = await call(`${auth}/api/sso/token`, { body: ADMIN })
  const adminSignIn = await verify2fa({
    temp_token: adminChallenge.body.temp_token,
    totp_code: adminCode(adminStep)
  })
  const admin = { body: adminSignIn.body as { token: string } }
  t.match(admin.body, { success: true })
  secretsSeen.push(adminFirst.body.token, admin.body.token, adminSetup.body.secret)
  const listed = await call(`${users}/api/admin/users?email=alice`, { token: admin.body.token })
  const alice = listed.body.users[0] as { id: string }
  const off = await call(`${totp}/api/admin/users/${alice.id}/2fa`, {
    method: 'DELETE',
    token: admin.body.token
  })
  t.same(off.body, { enabled: false })

  const again = await signIn()
  t.match(again.body, { success: true, token: String },
    `signed in with the password alone (${again.status}: ${Object.keys(again.body ?? {})})`)
  await eventually(
    async () => {
      const profile = await call(`${users}/api/users/me`, { token: again.body.token })
      return profile.body.two_factor_enabled === false
    },
    'the profile to show 2FA off after twofactor.disabled',
    30_000
  )
  t.pass('the profile shows 2FA off once the event arrives')

  // Internal routes need the service credential and are not on the public ports.
  const credentials = { body: { email: 'a@b.c', password: 'x' } }
  const userInternal = cluster.userInternal
  t.equal((await call(`${userInternal}/internal/credentials/verify`, credentials)).status, 401)
  t.equal((await call(`${users}/internal/credentials/verify`, credentials)).status, 404)

  // Nothing secret in any service's log.
  for (const service of cluster.processes.values()) {
    const output = service.output()
    t.ok(output.length > 0, `${service.name} logged`)
    const leaked = secretsSeen.filter((secret) => output.includes(secret))
    t.same(leaked.map((s) => s.slice(0, 8)), [], `${service.name} logged no secret`)
  }
})
