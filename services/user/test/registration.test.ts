import { randomBytes } from 'node:crypto'
import t from 'tap'
import { EMAIL_PROBLEMS } from '../src/domain/emails.js'
import { NAME_PROBLEM } from '../src/domain/names.js'
import { startUserApp, type UserApp } from './user-app.js'

const PASSWORD = 'long enough password'

async function register (h: UserApp, email: string) {
  return await h.call('POST', '/api/users', { email, password: PASSWORD, name: 'Someone' })
}

async function storedEmails (h: UserApp): Promise<string[]> {
  const page = await h.service.users.list(undefined, 0, 100)
  return page.users.map((user) => user.email)
}

t.test('look-alike and malformed emails are refused at sign-up with 400, ' +
  'say why without echoing the address, and create nothing', async (t) => {
  const h = await startUserApp(t)
  const refused: Array<[string, string]> = [
    ['ali\u200bce@example.com', EMAIL_PROBLEMS.invisible],
    ['alice@example.com.', EMAIL_PROBLEMS.domain],
    ['<script>alert(1)</script>@example.com', EMAIL_PROBLEMS.localPart],
    ['x&issuer=Evil#:?/%@example.com', EMAIL_PROBLEMS.localPart],
    ['\u0430lice@example.com', EMAIL_PROBLEMS.mixedScripts],
    ['alice', EMAIL_PROBLEMS.shape]
  ]

  for (const [email, message] of refused) {
    const answer = await register(h, email)
    t.equal(answer.status, 400, email)
    t.same(answer.body, { error: 'invalid_request', message }, email)
  }

  t.same(await storedEmails(h), [], 'no account was created')
  t.same(await h.store.pending(100), [], 'no user.created event waits')
  for (const [email] of refused) t.notOk(h.logs.text().includes(email), 'not logged')
})

t.test('an address in another script signs up, and is stored in its NFKC form', async (t) => {
  const h = await startUserApp(t)

  const cyrillic = await register(h, 'иван@пример.рф')
  const fullWidth = await register(h, ' ａlice@example.com ')
  const again = await register(h, 'ALICE@example.com')

  t.equal(cyrillic.status, 201)
  t.equal(cyrillic.body.email, 'иван@пример.рф')
  t.equal(fullWidth.status, 201)
  t.equal(fullWidth.body.email, 'alice@example.com')
  t.equal(again.status, 409)
  t.equal(again.body.error, 'email_taken')
})

t.test('a dotless ı makes a different account, as Turkish names need it', async (t) => {
  const h = await startUserApp(t)

  t.equal((await register(h, 'alice@example.com')).status, 201)
  t.equal((await register(h, 'alıce@example.com')).status, 201)
  t.same((await storedEmails(h)).sort(), ['alice@example.com', 'alıce@example.com'])
})

t.test('default-ignorable characters make no look-alike account, before the @ or ' +
  'after it', async (t) => {
  const h = await startUserApp(t)

  for (const email of [
    'al\u034fice@example.com',
    'alice\ufe0f@example.com',
    'ali\udb40\udd00ce@example.com',
    'ali\u3164ce@example.com',
    'alice@exa\u034fmple.com'
  ]) {
    const answer = await register(h, email)
    t.equal(answer.status, 400, JSON.stringify(email))
    t.same(answer.body, { error: 'invalid_request', message: EMAIL_PROBLEMS.invisible })
  }
  t.same(await storedEmails(h), [], 'no account was created')
})

t.test('an email, password or name that is not well-formed Unicode is refused ' +
  'with 400 and creates nothing', async (t) => {
  const h = await startUserApp(t)
  const fields = { email: 'alice@example.com', password: PASSWORD, name: 'Alice' }

  for (const [field, value] of [
    ['email', 'alice\ud800@example.com'],
    ['password', 'xxxxxxxx\ud800'],
    ['password', 'xxxxxxxx\udc00'],
    ['name', 'Alice\udfff']
  ] as const) {
    const answer = await h.call('POST', '/api/users', { ...fields, [field]: value })
    t.equal(answer.status, 400, `${field} ${JSON.stringify(value)}`)
    t.same(answer.body, {
      error: 'invalid_request',
      message: `The ${field} is not well-formed Unicode text: it holds an unpaired surrogate.`
    })
  }
  t.same(await storedEmails(h), [], 'no account was created')
  t.same(await h.store.pending(100), [], 'no user.created event waits')
})

t.test('a name that displays blank or hides invisible characters is refused ' +
  'with 400', async (t) => {
  const h = await startUserApp(t)

  for (const name of ['\u200b', '\u2060', '\u3164', '\u115f\u1160', '\u034f', '\u0301',
    'Al\u200bice', 'Alice\u00ad', '\u200c']) {
    const answer = await h.call('POST', '/api/users', {
      email: 'alice@example.com', password: PASSWORD, name
    })
    t.equal(answer.status, 400, JSON.stringify(name))
    t.same(answer.body, { error: 'invalid_request', message: NAME_PROBLEM })
  }
  t.same(await storedEmails(h), [], 'no account was created')
})

t.test('names that need joiners or variation selectors sign up as written', async (t) => {
  const h = await startUserApp(t)
  const names = ['\u0645\u06cc\u200c\u0646\u0627', 'Sam \u2764\ufe0f',
    '\ud83d\udc69\u200d\ud83d\udcbb Jo', '\u845b\udb40\udd00\u98fe']

  for (const [index, name] of names.entries()) {
    const answer = await h.call('POST', '/api/users', {
      email: `user${index}@example.com`, password: PASSWORD, name
    })
    t.equal(answer.status, 201, JSON.stringify(name))
    t.equal(answer.body.name, name)
  }
})

t.test('a password check with an unpaired surrogate is refused with 400, so it never ' +
  'matches the U+FFFD its UTF-8 form would hold', async (t) => {
  const token = randomBytes(32).toString('base64url')
  const h = await startUserApp(t, { INTERNAL_TOKEN: token })
  const email = 'alice@example.com'
  const created = await h.call('POST', '/api/users', {
    email, password: 'xxxxxxxx\ufffd', name: 'Alice'
  })
  t.equal(created.status, 201)

  async function check (password: string) {
    const response = await h.service.internalApp.inject({
      method: 'POST',
      url: '/internal/credentials/verify',
      headers: { authorization: `Bearer ${token}` },
      payload: { email, password }
    })
    return { status: response.statusCode, body: response.json() }
  }

  t.equal((await check('xxxxxxxx\ufffd')).status, 200, 'the password itself signs in')
  for (const password of ['xxxxxxxx\udc00', 'xxxxxxxx\ud800']) {
    t.same(await check(password), {
      status: 400,
      body: {
        error: 'invalid_request',
        message: 'The password is not well-formed Unicode text: it holds an unpaired surrogate.'
      }
    }, JSON.stringify(password))
  }
})
