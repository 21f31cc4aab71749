import { randomUUID } from 'node:crypto'
import type { DecisionLog } from '@twofa/kit'
import { createEnvelope } from '@twofa/events'
import { errors } from '../errors.js'
import { checkedEmail } from './emails.js'
import { emailKeyOf, type Role, type User, type UserStore } from '../store/users.js'
import { checkedName } from './names.js'
import { hashPassword, PasswordChecker } from './passwords.js'
import { requireWellFormed } from './text.js'

export interface UsersDeps {
  store: UserStore
  registrationEnabled: boolean
  now?: () => number
}

/** What clients see of a user: never the password hash. */
export interface Profile {
  id: string
  email: string
  name: string
  roles: Role[]
  two_factor_enabled: boolean
  created_at: string
}

export function profileOf (user: User): Profile {
  return {
    id: user.id,
    email: user.email,
    name: user.name,
    roles: user.roles,
    two_factor_enabled: user.twoFactorEnabled,
    created_at: user.createdAt.toISOString()
  }
}

/** Profiles and credentials: sign-up, password check, admin listing, 2FA flag. */
export function createUsers (deps: UsersDeps) {
  const { store } = deps
  const now = deps.now ?? Date.now
  const passwords = new PasswordChecker()

  async function create (
    email: string,
    password: string,
    name: string,
    roles: Role[]
  ): Promise<User | null> {
    requireWellFormed('email', email)
    requireWellFormed('password', password)
    requireWellFormed('name', name)
    const address = checkedEmail(email)
    const user: User = {
      id: randomUUID(),
      email: address,
      emailKey: emailKeyOf(address),
      name: checkedName(name),
      passwordHash: await hashPassword(password),
      roles,
      twoFactorEnabled: false,
      twoFactorChangedAt: null,
      createdAt: new Date(now())
    }

    const created = createEnvelope('user.created', { user_id: user.id, email: user.email })
    if (await store.create(user, created) === 'email_taken') return null
    return user
  }

  return {
    async register (
      email: string,
      password: string,
      name: string,
      log: DecisionLog
    ): Promise<Profile> {
      if (!deps.registrationEnabled) throw errors.registration_closed()

      const user = await create(email, password, name, ['user'])
      if (!user) throw errors.email_taken()

      log.info({ user_id: user.id }, 'user registered')
      return profileOf(user)
    },

    /**
     * Checks an email and password. An unknown email and a wrong password
     * give the same answer after the same work. Text that is not well-formed
     * is refused (400) before any lookup: it would hash like other passwords.
     */
    async verifyCredentials (email: string, password: string): Promise<User | null> {
      requireWellFormed('email', email)
      requireWellFormed('password', password)

      const user = await store.findByEmail(email)
      const ok = await passwords.check(user?.passwordHash ?? null, password)
      return ok ? user : null
    },

    /** True while the account exists and has the admin role. */
    async isAdmin (id: string): Promise<boolean> {
      return (await store.findById(id))?.roles.includes('admin') ?? false
    },

    async profile (id: string): Promise<Profile> {
      const user = await store.findById(id)
      if (!user) throw errors.user_not_found()
      return profileOf(user)
    },

    async list (emailPrefix: string | undefined, offset: number, limit: number) {
      const page = await store.list({ emailPrefix, offset, limit })
      return { users: page.users.map(profileOf), next_offset: page.nextOffset }
    },

    async remove (id: string, actorId: string, log: DecisionLog): Promise<void> {
      if (id === actorId) throw errors.cannot_delete_self()
      if (!await store.delete(id, createEnvelope('user.deleted', { user_id: id }))) {
        throw errors.user_not_found()
      }
      log.info({ user_id: id, admin_id: actorId }, 'user deleted')
    },

    /** Creates the first admin when no account has the email; run at start. */
    async ensureAdmin (email: string, password: string, log: DecisionLog): Promise<void> {
      const existing = await store.findByEmail(email)
      if (existing) {
        // Never promote an account someone else may have registered with
        // this address; an operator grants the role on purpose (ops
        // create-admin) after checking whose account it is.
        if (!existing.roles.includes('admin')) {
          log.warn({ user_id: existing.id }, 'ADMIN_EMAIL names an existing account that is not ' +
            'an admin; it was not made one (use the ops command create-admin if it should be)')
        }
        return
      }

      const user = await create(email, password, 'Administrator', ['user', 'admin'])
      if (user) log.info({ user_id: user.id }, 'first admin created')
    },

    /** Applies a 2FA change from an event; an older event than the last applied is ignored. */
    async applyTwoFactorChange (
      userId: string,
      enabled: boolean,
      changedAt: Date
    ): Promise<boolean> {
      return await store.setTwoFactor(userId, enabled, changedAt)
    }
  }
}

export type Users = ReturnType<typeof createUsers>
