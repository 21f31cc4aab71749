import t from 'tap'
import { EMAIL_PROBLEMS } from '../src/domain/emails.js'
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
