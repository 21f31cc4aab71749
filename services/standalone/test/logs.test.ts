import t from 'tap'
import { authenticatorCode } from '@twofa/testing'
import { startHarness } from './harness.js'

t.test('no password, secret, code, recovery code or token ever reaches the log', async (t) => {
  const h = await startHarness(t)
  const password = 'a very particular password'
  const secrets: string[] = [password]

  await h.call('POST', '/api/users', { email: 'nia@example.com', password, name: 'Nia' })
  const signIn = async () =>
    (await h.call('POST', '/api/sso/token', { email: 'nia@example.com', password })).body
  const token = (await signIn()).token as string
  secrets.push(token)

  const setup = (await h.call('POST', '/api/2fa/setup', undefined, token)).body
  secrets.push(setup.secret, encodeURIComponent(setup.secret))
  await h.call('POST', '/api/2fa/enable', { totp_code: '000000' }, token)
  const enableCode = authenticatorCode(setup.secret, h.seconds())
  const enabled = (await h.call('POST', '/api/2fa/enable', { totp_code: enableCode }, token)).body
  secrets.push(
    enableCode,
    ...enabled.recovery_codes,
    ...enabled.recovery_codes.map((c: string) => c.replaceAll('-', ''))
  )

  await h.call('POST', '/api/sso/token', {
    email: 'nia@example.com',
    password: 'wrong password here'
  })
  const temp = (await signIn()).temp_token as string
  secrets.push(temp, temp.slice(5))
  await h.call('POST', '/api/sso/verify-2fa', { temp_token: temp, totp_code: '111111' })
  await h.call('POST', '/api/sso/verify-2fa', { temp_token: temp, recovery_code: 'wxyz-wxyz-wxyz' })
  h.advance(30)
  const loginCode = authenticatorCode(setup.secret, h.seconds())
  secrets.push(loginCode)
  const verified = await h.call('POST', '/api/sso/verify-2fa', {
    temp_token: temp,
    totp_code: loginCode
  })
  const full = verified.body.token as string
  secrets.push(full)

  const temp2 = (await signIn()).temp_token as string
  await h.call('POST', '/api/sso/verify-2fa', {
    temp_token: temp2,
    recovery_code: enabled.recovery_codes[0]
  })
  await h.call('GET', '/api/users/me', undefined, full)
  const forged = 'eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl'
  await h.call('GET', '/api/users/me', undefined, forged)
  await h.settle()

  const text = h.logs.text()
  t.ok(h.logs.lines.length > 20, `${h.logs.lines.length} lines captured`)
  for (const secret of secrets) {
    t.notOk(text.includes(secret), `never logged: ${secret.slice(0, 6)}…`)
  }
  const secretField = '(password|totp_code|recovery_code|secret|token|temp_token|authorization)'
  t.notMatch(text, new RegExp(`"${secretField}":"(?!\\[redacted\\])`))
})

t.test('each request is one line with its id, ' +
  'route and status, and decisions carry the user id', async (t) => {
  const h = await startHarness(t)
  const password = 'long enough password'
  await h.call('POST', '/api/users', { email: 'oli@example.com', password, name: 'Oli' })
  await h.call('POST', '/api/sso/token', { email: 'oli@example.com', password })

  const entries = h.logs.entries()
  const requests = entries.filter((e) => e.msg === 'request')
  t.ok(requests.length >= 2)
  for (const line of requests) {
    t.match(line, {
      request_id: String,
      method: String,
      route: String,
      status: Number,
      ms: Number
    })
  }

  const signedIn = entries.find((e) => e.msg === 'signed in with password')
  t.match(signedIn, { user_id: String, request_id: String, level: 'info' })
})

t.test('the one-process start says that AMQP_URL names the in-memory stand-in ' +
  'when it is memory://', async (t) => {
  const h = await startHarness(t, { AMQP_URL: 'memory://' })

  const warning = h.logs.entries().find((e) => String(e.msg).includes('RabbitMQ'))

  t.match(warning, { level: 'warn', msg: /AMQP_URL=memory:\/\// })
  t.notMatch(h.logs.text(), 'is not set', 'a setting that was set is not called unset')
})
