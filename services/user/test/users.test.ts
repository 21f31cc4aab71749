import t from 'tap'
import type { DecisionLog } from '@twofa/kit'
import type { Envelope } from '@twofa/events'
import { createUsers } from '../src/domain/users.js'
import { MemoryUserStore } from '../src/store/users.js'

const quiet: DecisionLog = { info: () => {}, warn: () => {}, error: () => {} }

function setup (registrationEnabled = true) {
  const store = new MemoryUserStore()
  const users = createUsers({ store, registrationEnabled })
  /** The events the store's outbox holds for publishing. */
  const events = async (): Promise<Envelope[]> =>
    (await store.pending(100)).map((entry) => JSON.parse(entry.raw) as Envelope)
  return { users, store, events }
}

t.test('registering records user.created and never returns the password hash', async (t) => {
  const { users, events } = setup()
  const profile = await users.register(' Pat@Example.com ', 'long enough password', ' Pat ', quiet)
  t.match(profile, {
    email: 'Pat@Example.com',
    name: 'Pat',
    roles: ['user'],
    two_factor_enabled: false
  })
  t.notOk('passwordHash' in profile || 'password_hash' in profile)
  t.match(await events(), [
    { type: 'user.created', data: { user_id: profile.id, email: 'Pat@Example.com' } }
  ])
})

t.test('credentials check out for the right password in any email case, ' +
  'and not otherwise', async (t) => {
  const { users } = setup()
  await users.register('quinn@example.com', 'long enough password', 'Quinn', quiet)
  const account = await users.verifyCredentials('QUINN@example.com', 'long enough password')
  t.equal(account?.email, 'quinn@example.com')
  t.equal(await users.verifyCredentials('quinn@example.com', 'long enough passworD'), null)
  t.equal(await users.verifyCredentials('nobody@example.com', 'long enough password'), null)
})

t.test('the first admin is created once, and an existing account is never promoted ' +
  'by the start-up setting', async (t) => {
  const { users, store } = setup()
  await users.ensureAdmin('root@example.com', 'admin password 123', quiet)
  await users.ensureAdmin('root@example.com', 'another password 456', quiet)
  const admin = await store.findByEmail('root@example.com')
  t.same(admin?.roles, ['user', 'admin'])
  t.ok(
    await users.verifyCredentials('root@example.com', 'admin password 123'),
    'the first password stays'
  )

  await users.register('sam@example.com', 'long enough password', 'Sam', quiet)
  const warnings: string[] = []
  await users.ensureAdmin('sam@example.com', 'ignored password 789', {
    ...quiet,
    warn: (_fields, message) => { warnings.push(message) }
  })
  t.same((await store.findByEmail('sam@example.com'))?.roles, ['user'], 'sam stays a user')
  t.match(warnings, [/not an admin; it was not made one/])
})

t.test('2FA changes apply in event time order, whatever order they arrive in', async (t) => {
  const { users } = setup()
  const { id } = await users.register('ray@example.com', 'long enough password', 'Ray', quiet)

  t.ok(await users.applyTwoFactorChange(id, true, new Date('2026-01-01T10:00:02Z')))
  t.notOk(
    await users.applyTwoFactorChange(id, false, new Date('2026-01-01T10:00:01Z')),
    'an older event is ignored'
  )
  t.equal((await users.profile(id)).two_factor_enabled, true)
  t.ok(await users.applyTwoFactorChange(id, false, new Date('2026-01-01T10:00:03Z')))
  t.equal((await users.profile(id)).two_factor_enabled, false)
})

t.test('an admin deletes a user, which records user.deleted, but not themselves', async (t) => {
  const { users, events } = setup()
  const { id } = await users.register('tia@example.com', 'long enough password', 'Tia', quiet)
  await t.rejects(users.remove('admin-1', 'admin-1', quiet), { code: 'cannot_delete_self' })
  await users.remove(id, 'admin-1', quiet)
  t.match((await events()).at(-1), { type: 'user.deleted', data: { user_id: id } })
  await t.rejects(users.remove(id, 'admin-1', quiet), { code: 'user_not_found' })
  await t.rejects(users.profile(id), { code: 'user_not_found' })
})

t.test('sign-up can be closed', async (t) => {
  const { users } = setup(false)
  await t.rejects(
    users.register('uma@example.com', 'long enough password', 'Uma', quiet),
    { code: 'registration_closed' }
  )
})

t.test('an account is an admin only while it exists and has the role', async (t) => {
  const { users, store } = setup()
  await users.ensureAdmin('boss@example.com', 'admin password 123', quiet)
  const boss = await store.findByEmail('boss@example.com')
  const { id } = await users.register('pat@example.com', 'long enough password', 'Pat', quiet)

  t.ok(await users.isAdmin(boss?.id as string))
  t.notOk(await users.isAdmin(id), 'a user is not')
  await users.remove(boss?.id as string, 'someone-else', quiet)
  t.notOk(await users.isAdmin(boss?.id as string), 'a deleted admin is not')
})
