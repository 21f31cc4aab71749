import t, { type Test } from 'tap'
import type { DecisionLog } from '@twofa/kit'
import { startUserApp, type UserApp } from './user-app.js'

const PASSWORD = 'long enough password'
const quiet: DecisionLog = { info: () => {}, warn: () => {}, error: () => {} }

/** The app with an admin and `count` users registered; the admin's token. */
async function withUsers (t: Test, count: number): Promise<{ h: UserApp, token: string }> {
  const h = await startUserApp(t)
  const users = h.service.users
  await users.ensureAdmin('admin@example.com', 'admin password 123', quiet)
  for (let i = 0; i < count; i++) {
    await users.register(`user${i}@example.com`, PASSWORD, `User ${i}`, quiet)
  }

  const admin = await h.service.users.verifyCredentials('admin@example.com', 'admin password 123')
  if (!admin) throw new Error('the admin was not created')
  return { h, token: h.tokenFor(admin) }
}

t.test('an admin lists users a page at a time', async (t) => {
  const { h, token } = await withUsers(t, 2)

  const first = await h.call('GET', '/api/admin/users?limit=2', undefined, token)
  const rest = await h.call('GET', '/api/admin/users?limit=2&offset=2', undefined, token)

  t.equal(first.status, 200)
  t.same(first.body.users.map((user: { email: string }) => user.email),
    ['admin@example.com', 'user0@example.com'])
  t.equal(first.body.next_offset, 2)
  t.same(rest.body.users.map((user: { email: string }) => user.email), ['user1@example.com'])
  t.equal(rest.body.next_offset, null)
})

t.test('a page limit outside 1 to 100 gets 400 and no page', async (t) => {
  const { h, token } = await withUsers(t, 2)

  for (const limit of ['0', '00', '101', '999', '-1', '1.5', '']) {
    const answer = await h.call('GET', `/api/admin/users?limit=${limit}`, undefined, token)
    t.equal(answer.status, 400, `limit=${limit}`)
    t.match(answer.body, { error: 'invalid_request', message: /^querystring\.limit / })
    t.notOk('users' in answer.body, `limit=${limit}`)
  }
})

t.test('a page limit of 1 or 100 is accepted, and 20 is the default', async (t) => {
  const { h, token } = await withUsers(t, 25)

  const one = await h.call('GET', '/api/admin/users?limit=1', undefined, token)
  const hundred = await h.call('GET', '/api/admin/users?limit=100', undefined, token)
  const unset = await h.call('GET', '/api/admin/users', undefined, token)

  t.equal(one.body.users.length, 1)
  t.equal(one.body.next_offset, 1)
  t.equal(hundred.body.users.length, 26)
  t.equal(hundred.body.next_offset, null)
  t.equal(unset.body.users.length, 20)
  t.equal(unset.body.next_offset, 20)
})
