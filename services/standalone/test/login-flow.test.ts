import t from 'tap'
import { authenticatorCode } from '@twofa/testing'
import { startHarness, type Harness } from './harness.js'

const PASSWORD = 'correct horse battery'

async function register (h: Harness, email: string) {
  const created = await h.call('POST', '/api/users', {
    email,
    password: PASSWORD,
    name: 'Test Person'
  })
  if (created.status !== 201) throw new Error(`register failed: ${JSON.stringify(created.body)}`)
  return created.body as { id: string }
}

async function login (h: Harness, email: string, password = PASSWORD) {
  return await h.call('POST', '/api/sso/token', { email, password })
}

/** Answers the second step of a sign-in with a temp token and a code. */
async function verify2fa (h: Harness, body: Record<string, unknown>) {
  return await h.call('POST', '/api/sso/verify-2fa', body)
}

/** Registers, signs in and turns 2FA on; returns what the user would keep. */
async function enrolledUser (h: Harness, email: string) {
  await register(h, email)
  const token = (await login(h, email)).body.token as string
  const setup = await h.call('POST', '/api/2fa/setup', undefined, token)
  const code = authenticatorCode(setup.body.secret, h.seconds())
  const enabled = await h.call('POST', '/api/2fa/enable', { totp_code: code }, token)
  if (enabled.status !== 200) throw new Error(`enable failed: ${JSON.stringify(enabled.body)}`)
  return {
    token,
    secret: setup.body.secret as string,
    recoveryCodes: enabled.body.recovery_codes as string[]
  }
}

/**
 * Signs the configured admin in with two factors, turning 2FA on first,
 * as admin routes require.
 */
async function adminToken (h: Harness, email: string, password: string): Promise<string> {
  const first = (await login(h, email, password)).body.token as string
  const setup = await h.call('POST', '/api/2fa/setup', undefined, first)
  const secret = setup.body.secret as string
  const enableCode = authenticatorCode(secret, h.seconds() - 30)
  await h.call('POST', '/api/2fa/enable', { totp_code: enableCode }, first)
  const challenge = await login(h, email, password)
  const verified = await verify2fa(h, {
    temp_token: challenge.body.temp_token,
    totp_code: authenticatorCode(secret, h.seconds())
  })
  return verified.body.token as string
}

function claims (token: string): Record<string, unknown> {
  const payload = Buffer.from(token.split('.')[1] as string, 'base64url').toString()
  return JSON.parse(payload) as Record<string, unknown>
}

t.test('a user without 2FA signs in with the password alone and reads their profile', async (t) => {
  const h = await startHarness(t)
  const user = await register(h, 'Ann@Example.com')

  const signIn = await login(h, 'ann@example.com')
  t.equal(signIn.status, 200)
  t.match(signIn.body, { success: true, token_type: 'Bearer', expires_in: 900 })
  const payload = claims(signIn.body.token)
  t.same(payload.amr, ['pwd'])
  t.equal(payload.sub, user.id)
  t.equal((payload.exp as number) - (payload.iat as number), 900)

  const me = await h.call('GET', '/api/users/me', undefined, signIn.body.token)
  t.match(me.body, {
    id: user.id,
    email: 'Ann@Example.com',
    name: 'Test Person',
    roles: ['user'],
    two_factor_enabled: false
  })
})

t.test('emails compare case-insensitively at sign-up', async (t) => {
  const h = await startHarness(t)
  await register(h, 'bo@example.com')
  const again = await h.call('POST', '/api/users', {
    email: 'BO@example.COM',
    password: PASSWORD,
    name: 'Bo'
  })
  t.equal(again.status, 409)
  t.same(again.body, {
    error: 'email_taken',
    message: 'An account with this email already exists.'
  })
})

t.test('an unknown email and a wrong password get the same answer', async (t) => {
  const h = await startHarness(t)
  await register(h, 'cy@example.com')
  const unknown = await login(h, 'nobody@example.com')
  const wrong = await login(h, 'cy@example.com', 'not the password')
  t.equal(unknown.status, 401)
  t.same(unknown.body, wrong.body)
  t.same(wrong.body, {
    success: false,
    error: 'invalid_credentials',
    message: 'The email or password is not correct.'
  })
})

t.test('the whole guide: turn 2FA on, sign in with a code, ' +
  'replay refused, recovery code once, admin turns it off', async (t) => {
  const h = await startHarness(t, {
    ADMIN_EMAIL: 'admin@example.com',
    ADMIN_PASSWORD: 'admin password 123'
  })
  const { secret, recoveryCodes } = await enrolledUser(h, 'dee@example.com')
  t.equal(recoveryCodes.length, 10)

  await h.settle()
  const first = await login(h, 'dee@example.com')
  t.match(first.body, { requires_2fa: true, expires_in: 300 })
  t.match(first.body.temp_token, /^temp_eyJ/)
  t.notOk('token' in first.body, 'no access token before the second step')

  h.advance(30)
  const code = authenticatorCode(secret, h.seconds())
  const verified = await verify2fa(h, { temp_token: first.body.temp_token, totp_code: code })
  t.equal(verified.status, 200)
  t.match(verified.body, { success: true, token_type: 'Bearer', expires_in: 900, method: 'totp' })
  t.same(claims(verified.body.token).amr, ['pwd', 'otp'])

  const me = await h.call('GET', '/api/users/me', undefined, verified.body.token)
  t.equal(me.body.two_factor_enabled, true, 'the profile flag followed the event')

  const again = await verify2fa(h, {
    temp_token: first.body.temp_token,
    totp_code: authenticatorCode(secret, h.seconds() + 30)
  })
  t.equal(again.status, 401)
  t.equal(again.body.error, 'invalid_temp_token', 'the temp token died with its first success')

  const second = await login(h, 'dee@example.com')
  const replay = await verify2fa(h, { temp_token: second.body.temp_token, totp_code: code })
  t.equal(replay.status, 401)
  t.same(replay.body, {
    success: false,
    error: 'invalid_code',
    message: 'This code was already used; wait for the next one.',
    reason: 'code_already_used',
    attempts_remaining: 4
  })

  const third = await login(h, 'dee@example.com')
  const byRecovery = await verify2fa(h, {
    temp_token: third.body.temp_token,
    recovery_code: recoveryCodes[0]
  })
  t.match(byRecovery.body, { success: true, method: 'recovery_code', recovery_codes_remaining: 9 })

  const fourth = await login(h, 'dee@example.com')
  const reused = await verify2fa(h, {
    temp_token: fourth.body.temp_token,
    recovery_code: recoveryCodes[0]
  })
  t.equal(reused.body.error, 'invalid_code')

  const admin = await adminToken(h, 'admin@example.com', 'admin password 123')
  const list = await h.call('GET', '/api/admin/users?email=dee', undefined, admin)
  t.equal(list.body.users.length, 1)
  const deeId = list.body.users[0].id as string
  const off = await h.call('DELETE', `/api/admin/users/${deeId}/2fa`, undefined, admin)
  t.same(off.body, { enabled: false })

  const plain = await login(h, 'dee@example.com')
  t.match(plain.body, { success: true, token_type: 'Bearer' })
  await h.settle()
  const after = await h.call('GET', '/api/users/me', undefined, plain.body.token)
  t.equal(after.body.two_factor_enabled, false)
})

t.test('five wrong codes kill the challenge: 401 with attempts left, then 429', async (t) => {
  const h = await startHarness(t)
  const { secret } = await enrolledUser(h, 'eve@example.com')
  const { temp_token: tempToken } = (await login(h, 'eve@example.com')).body

  for (let left = 4; left >= 0; left--) {
    const wrong = await verify2fa(h, { temp_token: tempToken, totp_code: '000000' })
    t.equal(wrong.status, 401)
    t.equal(wrong.body.attempts_remaining, left)
  }
  h.advance(30)
  const dead = await verify2fa(h, {
    temp_token: tempToken,
    totp_code: authenticatorCode(secret, h.seconds())
  })
  t.equal(dead.status, 429)
  t.match(dead.body, { success: false, error: 'too_many_attempts' })
})

t.test('the temp token is not an access token, with or without its prefix', async (t) => {
  const h = await startHarness(t)
  await enrolledUser(h, 'fin@example.com')
  const tempToken = (await login(h, 'fin@example.com')).body.temp_token as string

  for (const candidate of [tempToken, tempToken.slice('temp_'.length)]) {
    t.equal((await h.call('GET', '/api/users/me', undefined, candidate)).status, 401)
    t.equal((await h.call('GET', '/api/2fa/status', undefined, candidate)).status, 401)
  }
})

t.test('an access token is not a temp token', async (t) => {
  const h = await startHarness(t)
  await register(h, 'gil@example.com')
  const token = (await login(h, 'gil@example.com')).body.token as string
  for (const candidate of [token, `temp_${token}`, 'temp_', 'garbage']) {
    const answer = await verify2fa(h, { temp_token: candidate, totp_code: '123456' })
    t.equal(answer.status, 401)
    t.equal(answer.body.error, 'invalid_temp_token')
  }
})

t.test('K03 a code sent as a JSON number, ' +
  'or without its leading zeros, is a 400 that changes nothing', async (t) => {
  const h = await startHarness(t)
  await enrolledUser(h, 'hal@example.com')
  const tempToken = (await login(h, 'hal@example.com')).body.temp_token as string

  for (const code of [5924, 81804, '5924', '12345a', '1234567']) {
    const answer = await verify2fa(h, { temp_token: tempToken, totp_code: code })
    t.equal(answer.status, 400, JSON.stringify(code))
    t.match(answer.body, { success: false, error: 'invalid_request', message: String })
  }

  const wrong = await verify2fa(h, { temp_token: tempToken, totp_code: '000000' })
  t.equal(wrong.body.attempts_remaining, 4, 'none of the malformed requests spent an attempt')
})

t.test('exactly one of totp_code and recovery_code is required', async (t) => {
  const h = await startHarness(t)
  await enrolledUser(h, 'ida@example.com')
  const tempToken = (await login(h, 'ida@example.com')).body.temp_token as string

  const both = await verify2fa(h, {
    temp_token: tempToken,
    totp_code: '123456',
    recovery_code: 'abcd-efgh-jkmn'
  })
  const neither = await verify2fa(h, { temp_token: tempToken })
  for (const answer of [both, neither]) {
    t.equal(answer.status, 400)
    t.equal(answer.body.error, 'invalid_request')
  }
})

t.test('bad input is a 4xx with {error, message}, never a 5xx', async (t) => {
  const h = await startHarness(t)
  await register(h, 'jo@example.com')
  const token = (await login(h, 'jo@example.com')).body.token as string

  const cases: Array<[string, string, unknown, string | undefined]> = [
    ['POST', '/api/users', { email: 'not-an-email', password: PASSWORD, name: 'x' }, undefined],
    ['POST', '/api/users', { email: 'k@example.com', password: 'short', name: 'x' }, undefined],
    [
      'POST',
      '/api/users',
      { email: 'k@example.com', password: PASSWORD, name: 'x', roles: ['admin'] },
      undefined
    ],
    ['POST', '/api/users', ['not', 'an', 'object'], undefined],
    ['POST', '/api/sso/token', { email: 'jo@example.com' }, undefined],
    ['POST', '/api/sso/token', { email: 'jo@example.com', password: 'x'.repeat(1000) }, undefined],
    ['POST', '/api/2fa/enable', { totp_code: '123456' }, token],
    ['POST', '/api/2fa/enable', {}, token],
    ['POST', '/api/2fa/disable', { totp_code: '123456' }, token],
    ['POST', '/api/2fa/recovery-codes', { totp_code: 123456 }, token],
    ['GET', '/api/admin/users', undefined, token],
    ['DELETE', '/api/admin/users/x/2fa', undefined, token],
    ['GET', '/api/users/me', undefined, 'eyJhbGciOiJFUzI1NiJ9.e30.AAAA'],
    ['GET', '/api/users/me', undefined, undefined],
    ['GET', '/internal/users/x', undefined, undefined],
    ['GET', '/nowhere', undefined, undefined]
  ]

  for (const [method, url, body, bearer] of cases) {
    const answer = await h.call(method, url, body, bearer)
    const what = `${method} ${url} ${JSON.stringify(body)} -> ${answer.status}`
    t.ok(answer.status >= 400 && answer.status < 500, what)
    t.match(answer.body, { error: String, message: String })
  }

  const broken = await h.system.app.inject({
    method: 'POST',
    url: '/api/sso/token',
    headers: { 'content-type': 'application/json' },
    payload: '{"email":'
  })
  t.equal(broken.statusCode, 400)
  t.match(broken.json(), { error: 'invalid_request', message: String })
})

t.test('internal routes are not served on the public port', async (t) => {
  const h = await startHarness(t)
  const internal = [
    '/internal/credentials/verify',
    '/internal/challenges',
    '/internal/challenges/verify'
  ]
  for (const url of internal) {
    const answer = await h.call('POST', url, { email: 'a@b.c', password: 'x', user_id: 'u' })
    t.equal(answer.status, 404, url)
  }
})

t.test('the JWKS holds the key that signed the access token', async (t) => {
  const h = await startHarness(t)
  await register(h, 'kim@example.com')
  const token = (await login(h, 'kim@example.com')).body.token as string
  const encodedHeader = Buffer.from(token.split('.')[0] as string, 'base64url').toString()
  const header = JSON.parse(encodedHeader) as { kid: string, alg: string }

  const jwks = await h.call('GET', '/.well-known/jwks.json')
  t.equal(header.alg, 'ES256')
  t.match(jwks.body.keys, [{ kid: header.kid, kty: 'EC', crv: 'P-256', alg: 'ES256', use: 'sig' }])
  t.notOk('d' in jwks.body.keys[0], 'no private part')
})

t.test('registration can be turned off', async (t) => {
  const h = await startHarness(t, { REGISTRATION_ENABLED: 'false' })
  const answer = await h.call('POST', '/api/users', {
    email: 'lu@example.com',
    password: PASSWORD,
    name: 'Lu'
  })
  t.equal(answer.status, 403)
  t.equal(answer.body.error, 'registration_closed')
})

t.test('admin routes answer 403 to a user without the admin role', async (t) => {
  const h = await startHarness(t)
  await register(h, 'max@example.com')
  const token = (await login(h, 'max@example.com')).body.token as string
  t.equal((await h.call('GET', '/api/admin/users', undefined, token)).status, 403)
  t.equal((await h.call('DELETE', '/api/admin/users/someone/2fa', undefined, token)).status, 403)
})

t.test('any string as the email on sign-in is a plain 401 or a sign-in, never a 5xx', async (t) => {
  const h = await startHarness(t)
  await register(h, 'pia@example.com')
  for (const email of ['nobody', 'no body', 'a@@b', ' pia@example.com', '\u0000']) {
    const answer = await login(h, email, 'wrong password')
    t.equal(answer.status, 401, JSON.stringify(email))
    t.equal(answer.body.error, 'invalid_credentials')
  }
  const padded = await login(h, ' PIA@example.com ')
  t.equal(padded.status, 200, 'surrounding spaces and case are forgiven')
})

t.test('names and emails with control or direction-override characters ' +
  'are refused at sign-up', async (t) => {
  const h = await startHarness(t)
  const cases = [
    { email: 'a\u0000@example.com', password: PASSWORD, name: 'Nul' },
    { email: 'ok@example.com', password: PASSWORD, name: 'evil\u202Etxt' },
    { email: 'ok2@example.com', password: PASSWORD, name: '   ' },
    { email: 'ok3@example.com', password: '        ', name: 'Blank Password' }
  ]
  for (const body of cases) {
    const answer = await h.call('POST', '/api/users', body)
    t.equal(answer.status, 400, JSON.stringify(body))
  }
})

t.test('a password typed in another Unicode form still signs in', async (t) => {
  const h = await startHarness(t)
  const composed = 'caf\u00e9 au lait please'
  await h.call('POST', '/api/users', { email: 'uni@example.com', password: composed, name: 'Uni' })
  const decomposed = composed.normalize('NFD')
  t.not(decomposed, composed)
  t.equal((await login(h, 'uni@example.com', decomposed)).status, 200)
})

t.test('admin routes need a sign-in with a second factor', async (t) => {
  const admin = { ADMIN_EMAIL: 'boss@example.com', ADMIN_PASSWORD: 'admin password 123' }
  const strict = await startHarness(t, admin)
  const passwordOnly = (await login(strict, 'boss@example.com', 'admin password 123')).body.token
  const refused = await strict.call('GET', '/api/admin/users', undefined, passwordOnly)
  t.equal(refused.status, 403)
  t.equal(refused.body.error, 'second_factor_required')
  const withTwo = await adminToken(strict, 'boss@example.com', 'admin password 123')
  t.equal((await strict.call('GET', '/api/admin/users', undefined, withTwo)).status, 200)

  const relaxed = await startHarness(t, { ...admin, ADMIN_REQUIRE_2FA: 'false' })
  const token = (await login(relaxed, 'boss@example.com', 'admin password 123')).body.token
  t.equal((await relaxed.call('GET', '/api/admin/users', undefined, token)).status, 200)
})

t.test('wrong passwords up to the limit pause sign-in for that email, known or not', async (t) => {
  const h = await startHarness(t, { SIGNIN_FAILURE_LIMIT: '3', RATE_LIMIT_PER_MINUTE: '0' })
  await register(h, 'vic@example.com')

  for (const email of ['vic@example.com', 'ghost@example.com']) {
    for (let i = 0; i < 3; i++) t.equal((await login(h, email, 'wrong password')).status, 401)
    const paused = await login(h, email, email === 'vic@example.com' ? PASSWORD : 'wrong password')
    t.equal(paused.status, 429, `${email} is paused, even with the right password`)
    t.match(paused.body, { success: false, error: 'signin_locked', retry_after: Number })
  }
  const variant = await login(h, 'VIC@example.com ', PASSWORD)
  t.equal(variant.status, 429, 'whatever the case or spacing')
})

t.test('a success gives the sign-in budget back', async (t) => {
  const h = await startHarness(t, { SIGNIN_FAILURE_LIMIT: '3', RATE_LIMIT_PER_MINUTE: '0' })
  await register(h, 'wes@example.com')
  for (let round = 0; round < 3; round++) {
    await login(h, 'wes@example.com', 'wrong password')
    await login(h, 'wes@example.com', 'wrong password')
    t.equal((await login(h, 'wes@example.com')).status, 200)
  }
})

t.test('sign-in requests from one address are rate limited', async (t) => {
  const h = await startHarness(t, { RATE_LIMIT_PER_MINUTE: '3' })
  const answers = []
  for (let i = 0; i < 4; i++) answers.push(await login(h, 'nobody@example.com', 'x'))
  t.same(answers.map((a) => a.status), [401, 401, 401, 429])
  t.match(answers[3]?.body, { error: 'rate_limited', message: String })
})

t.test('answers that carry tokens or secrets are not cacheable; the JWKS is', async (t) => {
  const h = await startHarness(t)
  await register(h, 'xia@example.com')
  const answer = await h.system.app.inject({
    method: 'POST',
    url: '/api/sso/token',
    headers: { 'content-type': 'application/json' },
    payload: JSON.stringify({ email: 'xia@example.com', password: PASSWORD })
  })
  t.equal(answer.headers['cache-control'], 'no-store')
  const jwks = await h.system.app.inject({ method: 'GET', url: '/.well-known/jwks.json' })
  t.equal(jwks.headers['cache-control'], 'public, max-age=300')
})

t.test('sign-ups from one address are rate limited', async (t) => {
  const h = await startHarness(t, { REGISTRATION_RATE_PER_MINUTE: '2' })
  const answers = []
  for (const name of ['ra', 'rb', 'rc']) {
    const body = { email: `${name}@example.com`, password: PASSWORD, name }
    answers.push(await h.call('POST', '/api/users', body))
  }
  t.same(answers.map((a) => a.status), [201, 201, 429])
  t.match(answers[2]?.body, { error: 'rate_limited', message: String })
})
