import t from 'tap'
import { authenticatorCode } from '@twofa/testing'
import { startHarness, type Harness } from './harness.js'

const PASSWORD = 'long enough password'

function cookiesFrom (setCookie: string | string[] | undefined): Record<string, string> {
  const jar: Record<string, string> = {}
  for (const line of [setCookie ?? []].flat()) {
    const [pair] = line.split(';')
    const [name, value] = (pair as string).split('=')
    jar[name as string] = value ?? ''
  }
  return jar
}

async function signInWithCookie (h: Harness, email: string, host = 'localhost') {
  await h.call('POST', '/api/users', { email, password: PASSWORD, name: 'Browser User' })
  return await h.system.app.inject({
    method: 'POST',
    url: '/api/sso/token',
    headers: { host, 'content-type': 'application/json', 'x-session-mode': 'cookie' },
    payload: JSON.stringify({ email, password: PASSWORD })
  })
}

t.test('a cookie session keeps the token out of the body ' +
  'and in an HttpOnly, SameSite=Strict cookie', async (t) => {
  const h = await startHarness(t)
  const answer = await signInWithCookie(h, 'web@example.com')

  t.equal(answer.statusCode, 200)
  t.same(answer.json(), { success: true, token_type: 'cookie', expires_in: 900 })
  const lines = [answer.headers['set-cookie'] ?? []].flat()
  const session = lines.find((line) => line.startsWith('twofa_session='))
  const csrf = lines.find((line) => line.startsWith('twofa_csrf='))
  t.match(session, /HttpOnly/)
  t.match(session, /SameSite=Strict/)
  t.match(session, /Path=\//)
  t.notMatch(session, /Secure/, 'not Secure on plain-HTTP localhost')
  t.notMatch(csrf, /HttpOnly/, 'the CSRF cookie is readable by the page')
})

t.test('the session mode header is read without regard to case', async (t) => {
  const h = await startHarness(t)
  await h.call('POST', '/api/users', { email: 'caps@example.com', password: PASSWORD, name: 'C' })

  const answer = await h.system.app.inject({
    method: 'POST',
    url: '/api/sso/token',
    headers: { 'content-type': 'application/json', 'x-session-mode': 'Cookie' },
    payload: JSON.stringify({ email: 'caps@example.com', password: PASSWORD })
  })

  t.equal(answer.json().token_type, 'cookie')
  t.notOk('token' in answer.json(), 'no token in the body')
})

t.test('outside localhost the cookies are Secure', async (t) => {
  const h = await startHarness(t)
  const answer = await signInWithCookie(h, 'prod@example.com', 'twofa.example.com')
  for (const line of [answer.headers['set-cookie'] ?? []].flat()) t.match(line, /Secure/)
})

t.test('the session cookie authenticates reads, ' +
  'and writes only with the CSRF header', async (t) => {
  const h = await startHarness(t)
  const jar = cookiesFrom((await signInWithCookie(h, 'csrf@example.com')).headers['set-cookie'])
  const cookie = `twofa_session=${jar.twofa_session}; twofa_csrf=${jar.twofa_csrf}`

  const me = await h.system.app.inject({ method: 'GET', url: '/api/users/me', headers: { cookie } })
  t.equal(me.statusCode, 200)
  t.equal(me.json().email, 'csrf@example.com')

  const forged = await h.system.app.inject({
    method: 'POST',
    url: '/api/2fa/setup',
    headers: { cookie }
  })
  t.equal(forged.statusCode, 403)
  t.equal(forged.json().error, 'csrf_failed')

  const wrong = await h.system.app.inject({
    method: 'POST',
    url: '/api/2fa/setup',
    headers: { cookie, 'x-csrf-token': 'guess' }
  })
  t.equal(wrong.statusCode, 403)

  const setup = await h.system.app.inject({
    method: 'POST',
    url: '/api/2fa/setup',
    headers: { cookie, 'x-csrf-token': jar.twofa_csrf as string }
  })
  t.equal(setup.statusCode, 200)
  const enable = await h.system.app.inject({
    method: 'POST',
    url: '/api/2fa/enable',
    headers: {
      cookie,
      'x-csrf-token': jar.twofa_csrf as string,
      'content-type': 'application/json'
    },
    payload: JSON.stringify({ totp_code: authenticatorCode(setup.json().secret, h.seconds()) })
  })
  t.equal(enable.statusCode, 200)
})

t.test('a CSRF value planted with its own cookie, or taken from another session, ' +
  'is refused', async (t) => {
  const h = await startHarness(t)
  const mine = cookiesFrom((await signInWithCookie(h, 'victim@example.com')).headers['set-cookie'])
  const theirs = cookiesFrom((await signInWithCookie(h, 'other@example.com')).headers['set-cookie'])
  const setup = async (csrfCookie: string, header: string) => await h.system.app.inject({
    method: 'POST',
    url: '/api/2fa/setup',
    headers: {
      cookie: `twofa_session=${mine.twofa_session}; twofa_csrf=${csrfCookie}`,
      'x-csrf-token': header
    }
  })

  // The plain double-submit check passed whenever cookie and header matched.
  const planted = await setup('planted', 'planted')
  const borrowed = await setup(theirs.twofa_csrf as string, theirs.twofa_csrf as string)
  const own = await setup(mine.twofa_csrf as string, mine.twofa_csrf as string)

  t.equal(planted.statusCode, 403)
  t.equal(planted.json().error, 'csrf_failed')
  t.equal(borrowed.statusCode, 403)
  t.equal(own.statusCode, 200)
})

t.test('a CSRF header with characters outside ASCII gets 403, not a crash', async (t) => {
  const h = await startHarness(t)
  const jar = cookiesFrom((await signInWithCookie(h, 'bytes@example.com')).headers['set-cookie'])
  const value = jar.twofa_csrf as string
  // Same length in characters as the right value, one byte longer in UTF-8.
  const header = '\u00e9' + value.slice(1)

  const answer = await h.system.app.inject({
    method: 'POST',
    url: '/api/2fa/setup',
    headers: {
      cookie: `twofa_session=${jar.twofa_session}; twofa_csrf=${value}`,
      'x-csrf-token': header
    }
  })

  t.equal(answer.statusCode, 403)
  t.same(Object.keys(answer.json()).sort(), ['error', 'message'])
})

t.test('the second step can end in a cookie session too', async (t) => {
  const h = await startHarness(t)
  const jar = cookiesFrom((await signInWithCookie(h, 'two@example.com')).headers['set-cookie'])
  const cookie = `twofa_session=${jar.twofa_session}; twofa_csrf=${jar.twofa_csrf}`
  const headers = { cookie, 'x-csrf-token': jar.twofa_csrf as string }
  const setup = (await h.system.app.inject({
    method: 'POST',
    url: '/api/2fa/setup',
    headers
  })).json()
  await h.system.app.inject({
    method: 'POST',
    url: '/api/2fa/enable',
    headers: { ...headers, 'content-type': 'application/json' },
    payload: JSON.stringify({ totp_code: authenticatorCode(setup.secret, h.seconds()) })
  })

  const first = (await h.call('POST', '/api/sso/token', {
    email: 'two@example.com',
    password: PASSWORD
  })).body
  h.advance(30)
  const verified = await h.system.app.inject({
    method: 'POST',
    url: '/api/sso/verify-2fa',
    headers: { 'content-type': 'application/json', 'x-session-mode': 'cookie' },
    payload: JSON.stringify({
      temp_token: first.temp_token,
      totp_code: authenticatorCode(setup.secret, h.seconds())
    })
  })
  t.match(verified.json(), { success: true, token_type: 'cookie', method: 'totp' })
  t.notOk('token' in verified.json())
  t.ok(cookiesFrom(verified.headers['set-cookie']).twofa_session)
})

t.test('signing out clears both cookies', async (t) => {
  const h = await startHarness(t)
  await signInWithCookie(h, 'out@example.com')
  const out = await h.system.app.inject({ method: 'POST', url: '/api/sso/logout' })
  t.equal(out.statusCode, 200)
  const lines = [out.headers['set-cookie'] ?? []].flat()
  t.equal(lines.length, 2)
  for (const line of lines) t.match(line, /Expires=Thu, 01 Jan 1970|Max-Age=0/)
})

t.test('a bearer token needs no CSRF header', async (t) => {
  const h = await startHarness(t)
  await h.call('POST', '/api/users', { email: 'api@example.com', password: PASSWORD, name: 'Api' })
  const signIn = await h.call('POST', '/api/sso/token', {
    email: 'api@example.com',
    password: PASSWORD
  })
  const token = signIn.body.token as string
  t.equal((await h.call('POST', '/api/2fa/setup', undefined, token)).status, 200)
})
