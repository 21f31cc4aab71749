import type { Test } from 'tap'
import { createEnvelope, type Envelope } from '@twofa/events'
import { emailKeyOf, type User, type UserStore } from '../src/store/users.js'

/** What the contract runs against: the in-memory stand-in or a real adapter. */
export interface UserStoreSubject {
  /** An empty store for one test. */
  open: () => Promise<UserStore>
  /** A reason to skip tests of racing writes, when this backend cannot run them. */
  skipRaces?: string | false
}

let serial = 0

/** A user as the domain builds one: the email key is the trimmed, lower-cased email. */
function userWith (email: string, changes: Partial<User> = {}): User {
  serial += 1
  return {
    id: `user-${serial}`,
    email,
    emailKey: emailKeyOf(email),
    name: `User ${serial}`,
    passwordHash: `$argon2id$hash-${serial}`,
    roles: ['user'],
    twoFactorEnabled: false,
    twoFactorChangedAt: null,
    createdAt: new Date('2026-01-02T03:04:05.678Z'),
    ...changes
  }
}

function created (user: User): Envelope {
  return createEnvelope('user.created', { user_id: user.id, email: user.email })
}

function deleted (id: string): Envelope {
  return createEnvelope('user.deleted', { user_id: id })
}

function withEvent (user: User): [User, Envelope] {
  return [user, created(user)]
}

async function createOne (store: UserStore, email: string): Promise<User> {
  const user = userWith(email)
  await store.create(user, created(user))
  return user
}

async function createAll (store: UserStore, emails: string[]): Promise<void> {
  for (const email of emails) await createOne(store, email)
}

async function emailsListed (store: UserStore, emailPrefix: string): Promise<string[]> {
  const page = await store.list({ emailPrefix, offset: 0, limit: 100 })
  return page.users.map((user) => user.email)
}

/** The behaviour every UserStore must have. */
export function userStoreContract (t: Test, subject: UserStoreSubject): void {
  const races = { skip: subject.skipRaces ?? false }

  t.test('K26: 20 concurrent creates of one email in two cases ' +
    'make one user and email_taken for the rest', async (t) => {
    const store = await subject.open()
    const cases = ['alice@example.com', 'Alice@Example.com']
    const emails = Array.from({ length: 20 }, (_, i) => cases[i % 2] ?? '')

    const creates = emails.map(async (email) => await store.create(...withEvent(userWith(email))))
    const results = await Promise.allSettled(creates)

    t.same(results.filter((result) => result.status === 'rejected'), [], 'nothing throws')
    const outcomes = results.map((result) => result.status === 'fulfilled' ? result.value : 'threw')
    t.equal(outcomes.filter((outcome) => outcome === 'created').length, 1)
    t.equal(outcomes.filter((outcome) => outcome === 'email_taken').length, 19)
    t.equal((await store.list({ offset: 0, limit: 100 })).users.length, 1)
  })

  t.test('findById returns the user create stored', async (t) => {
    const store = await subject.open()
    const user = userWith('alice@example.com', { roles: ['user', 'admin'] })

    t.equal(await store.create(user, created(user)), 'created')

    t.strictSame(await store.findById(user.id), user)
  })

  t.test('findById returns null for an unknown id', async (t) => {
    const store = await subject.open()

    t.equal(await store.findById('nobody'), null)
  })

  t.test('findByEmail finds the user whatever the case of the email', async (t) => {
    const store = await subject.open()
    const alice = await createOne(store, 'Alice@Example.com')

    t.equal((await store.findByEmail('aLICE@example.COM'))?.id, alice.id)
  })

  t.test('findByEmail returns null for an email nobody has', async (t) => {
    const store = await subject.open()
    await createOne(store, 'alice@example.com')

    t.equal(await store.findByEmail('bob@example.com'), null)
  })

  t.test('list returns users in email order, one page at a time', async (t) => {
    const store = await subject.open()
    await createAll(store, ['erin@x.io', 'bob@x.io', 'dave@x.io', 'alice@x.io', 'carol@x.io'])

    const pages = [
      await store.list({ offset: 0, limit: 2 }),
      await store.list({ offset: 2, limit: 2 }),
      await store.list({ offset: 4, limit: 2 })
    ]

    t.same(pages.map((page) => page.users.map((user) => user.email)), [
      ['alice@x.io', 'bob@x.io'],
      ['carol@x.io', 'dave@x.io'],
      ['erin@x.io']
    ])
    t.same(pages.map((page) => page.nextOffset), [2, 4, null])
  })

  t.test('list keeps the emails that start with the prefix, in any case', async (t) => {
    const store = await subject.open()
    await createAll(store, ['alice@x.io', 'Alan@x.io', 'bob@x.io', 'sal@x.io'])

    t.same(await emailsListed(store, 'AL'), ['Alan@x.io', 'alice@x.io'])
  })

  t.test('list takes regular expression characters in the prefix literally', async (t) => {
    const store = await subject.open()
    // As a pattern, "a.b+" would also match the second and third.
    await createAll(store, ['a.b+c@x.io', 'axbbb@x.io', 'a.bb@x.io', 'b.a.b+@x.io'])

    t.same(await emailsListed(store, 'a.b+'), ['a.b+c@x.io'])
  })

  t.test('setTwoFactor applies a change newer than the last one', async (t) => {
    const store = await subject.open()
    const { id } = await createOne(store, 'alice@example.com')
    await store.setTwoFactor(id, true, new Date('2026-03-01T00:00:00Z'))

    t.equal(await store.setTwoFactor(id, false, new Date('2026-03-02T00:00:00Z')), true)

    const stored = await store.findById(id)
    t.equal(stored?.twoFactorEnabled, false)
    t.same(stored?.twoFactorChangedAt, new Date('2026-03-02T00:00:00Z'))
  })

  t.test('setTwoFactor ignores a change older than the last one applied', async (t) => {
    const store = await subject.open()
    const { id } = await createOne(store, 'alice@example.com')
    await store.setTwoFactor(id, true, new Date('2026-03-02T00:00:00Z'))

    t.equal(await store.setTwoFactor(id, false, new Date('2026-03-01T00:00:00Z')), false)

    const stored = await store.findById(id)
    t.equal(stored?.twoFactorEnabled, true)
    t.same(stored?.twoFactorChangedAt, new Date('2026-03-02T00:00:00Z'))
  })

  t.test('setTwoFactor leaves the newest of 20 concurrent changes in place', races, async (t) => {
    const store = await subject.open()
    const { id } = await createOne(store, 'alice@example.com')
    const changes = Array.from({ length: 20 }, (_, i) => ({
      enabled: i % 2 === 0,
      at: new Date(Date.UTC(2026, 2, 1, 0, 0, i))
    }))

    // Oldest last, so a store that lets a stale change win is caught.
    const applied = changes.reverse().map(async (change) =>
      await store.setTwoFactor(id, change.enabled, change.at))
    await Promise.all(applied)

    const stored = await store.findById(id)
    t.equal(stored?.twoFactorEnabled, false)
    t.same(stored?.twoFactorChangedAt, new Date(Date.UTC(2026, 2, 1, 0, 0, 19)))
  })

  t.test('addRole adds a role once however often it is called', async (t) => {
    const store = await subject.open()
    const { id } = await createOne(store, 'alice@example.com')

    await store.addRole(id, 'admin')
    await store.addRole(id, 'admin')

    t.same((await store.findById(id))?.roles, ['user', 'admin'])
  })

  t.test('delete removes the user', async (t) => {
    const store = await subject.open()
    const { id } = await createOne(store, 'alice@example.com')

    t.equal(await store.delete(id, deleted(id)), true)

    t.equal(await store.findById(id), null)
    t.equal(await store.findByEmail('alice@example.com'), null)
  })

  t.test('delete returns false for an unknown id', async (t) => {
    const store = await subject.open()

    t.equal(await store.delete('nobody', deleted('nobody')), false)
  })

  t.test('delete frees the email for a new account', async (t) => {
    const store = await subject.open()
    const { id } = await createOne(store, 'alice@example.com')
    await store.delete(id, deleted(id))

    t.equal(await store.create(...withEvent(userWith('Alice@example.com'))), 'created')
  })

  t.test('creating and deleting a user leave their events in the outbox until done', async (t) => {
    const store = await subject.open()
    const user = await createOne(store, 'carol@example.com')
    const gone = deleted(user.id)
    await store.delete(user.id, gone)

    const pending = await store.pending(10)
    const types = pending.map((entry) => (JSON.parse(entry.raw) as Envelope).type)
    t.same(types, ['user.created', 'user.deleted'])
    t.ok(pending.every((entry) => entry.owner === user.id))

    for (const entry of pending) await store.done(entry)
    t.same(await store.pending(10), [])
    t.equal(await store.findById(user.id), null)
  })

  t.test('a deleted user is gone for every read at once, before its event is out', async (t) => {
    const store = await subject.open()
    const user = await createOne(store, 'dave@example.com')
    await store.delete(user.id, deleted(user.id))

    t.equal(await store.findById(user.id), null)
    t.equal(await store.findByEmail('dave@example.com'), null)
    t.same(await emailsListed(store, ''), [])
    t.equal(await store.setTwoFactor(user.id, true, new Date()), false)
    t.equal(await store.delete(user.id, deleted(user.id)), false, 'and cannot be deleted twice')
  })

  t.test('a user that was not created or deleted leaves no event', async (t) => {
    const store = await subject.open()
    await createOne(store, 'erin@example.com')
    for (const entry of await store.pending(10)) await store.done(entry)

    await store.create(...withEvent(userWith('ERIN@example.com')))
    await store.delete('nobody', deleted('nobody'))
    t.same(await store.pending(10), [])
  })
}
