import type { Collection, Db } from 'mongodb'
import { isDuplicateKeyError } from '@twofa/kit'
import {
  emailKeyOf,
  type Role,
  type User,
  type UserPage,
  type UserQuery,
  type UserStore
} from './users.js'

interface UserDocument {
  _id: string
  email: string
  email_key: string
  name: string
  password_hash: string
  roles: Role[]
  two_factor_enabled: boolean
  two_factor_changed_at: Date | null
  created_at: Date
}

function toUser (doc: UserDocument): User {
  return {
    id: doc._id,
    email: doc.email,
    emailKey: doc.email_key,
    name: doc.name,
    passwordHash: doc.password_hash,
    roles: doc.roles,
    twoFactorEnabled: doc.two_factor_enabled,
    twoFactorChangedAt: doc.two_factor_changed_at ?? null,
    createdAt: doc.created_at
  }
}

/** Escapes a string for use inside a regular expression. */
function literal (text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
}

/**
 * Users in MongoDB. Emails are unique through a unique index on a stored
 * lower-cased copy rather than a case-insensitive collation, which FerretDB
 * 1.x does not support; its unique indexes do hold under concurrent inserts.
 * FerretDB 1.x does not apply updates atomically, though (it reads the
 * document, then writes it back by id), so there two concurrent updates of
 * one user, such as a role and the 2FA flag, can undo each other.
 */
export class MongoUserStore implements UserStore {
  private readonly collection: Collection<UserDocument>

  private constructor (private readonly db: Db, private readonly onClose: () => Promise<void>) {
    this.collection = db.collection<UserDocument>('users')
  }

  static async open (
    db: Db,
    onClose: () => Promise<void> = async () => {}
  ): Promise<MongoUserStore> {
    const store = new MongoUserStore(db, onClose)
    await store.collection.createIndex({ email_key: 1 }, { unique: true, name: 'email_key_unique' })
    return store
  }

  async create (user: User): Promise<'created' | 'email_taken'> {
    try {
      await this.collection.insertOne({
        _id: user.id,
        email: user.email,
        email_key: user.emailKey,
        name: user.name,
        password_hash: user.passwordHash,
        roles: user.roles,
        two_factor_enabled: user.twoFactorEnabled,
        two_factor_changed_at: user.twoFactorChangedAt,
        created_at: user.createdAt
      })
      return 'created'
    } catch (error) {
      if (isDuplicateKeyError(error)) return 'email_taken'
      throw error
    }
  }

  async findById (id: string): Promise<User | null> {
    const doc = await this.collection.findOne({ _id: id })
    return doc ? toUser(doc) : null
  }

  async findByEmail (email: string): Promise<User | null> {
    const doc = await this.collection.findOne({ email_key: emailKeyOf(email) })
    return doc ? toUser(doc) : null
  }

  async list (query: UserQuery): Promise<UserPage> {
    const filter = query.emailPrefix
      ? { email_key: { $regex: `^${literal(emailKeyOf(query.emailPrefix))}` } }
      : {}
    // One more than asked for tells whether another page exists.
    const docs = await this.collection.find(filter)
      .sort({ email_key: 1 })
      .skip(query.offset)
      .limit(query.limit + 1)
      .toArray()

    return {
      users: docs.slice(0, query.limit).map(toUser),
      nextOffset: docs.length > query.limit ? query.offset + query.limit : null
    }
  }

  async setTwoFactor (id: string, enabled: boolean, changedAt: Date): Promise<boolean> {
    const result = await this.collection.updateOne(
      {
        _id: id,
        $or: [{ two_factor_changed_at: null }, { two_factor_changed_at: { $lt: changedAt } }]
      },
      { $set: { two_factor_enabled: enabled, two_factor_changed_at: changedAt } }
    )
    return result.modifiedCount === 1
  }

  async addRole (id: string, role: Role): Promise<void> {
    await this.collection.updateOne({ _id: id }, { $addToSet: { roles: role } })
  }

  async delete (id: string): Promise<boolean> {
    const result = await this.collection.deleteOne({ _id: id })
    return result.deletedCount === 1
  }

  async ping (): Promise<void> {
    await this.db.command({ ping: 1 })
  }

  async close (): Promise<void> {
    await this.onClose()
  }
}
