import type { Collection, Db } from 'mongodb'
import { isDuplicateKeyError } from '@twofa/kit'
import { outboxRecord, type Envelope, type OutboxEntry } from '@twofa/events'
import {
  deletedKeyOf,
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
  /** Set when the user was deleted; the record stays until its events are out. */
  deleted?: boolean
  /** Events written with the changes they describe, as JSON, oldest first. */
  outbox?: string[]
  outbox_pending?: boolean
}

/** Every read and change skips deleted users. */
const LIVE = { deleted: { $ne: true } }

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
    await store.collection.createIndex({ outbox_pending: 1 }, { name: 'outbox_pending' })
    return store
  }

  async create (user: User, event: Envelope): Promise<'created' | 'email_taken'> {
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
        created_at: user.createdAt,
        outbox: [outboxRecord(event)],
        outbox_pending: true
      })
      return 'created'
    } catch (error) {
      if (isDuplicateKeyError(error)) return 'email_taken'
      throw error
    }
  }

  async findById (id: string): Promise<User | null> {
    const doc = await this.collection.findOne({ _id: id, ...LIVE })
    return doc ? toUser(doc) : null
  }

  async findByEmail (email: string): Promise<User | null> {
    const doc = await this.collection.findOne({ email_key: emailKeyOf(email), ...LIVE })
    return doc ? toUser(doc) : null
  }

  async list (query: UserQuery): Promise<UserPage> {
    const filter = query.emailPrefix
      ? { ...LIVE, email_key: { $regex: `^${literal(emailKeyOf(query.emailPrefix))}` } }
      : LIVE
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
        ...LIVE,
        $or: [{ two_factor_changed_at: null }, { two_factor_changed_at: { $lt: changedAt } }]
      },
      { $set: { two_factor_enabled: enabled, two_factor_changed_at: changedAt } }
    )
    return result.modifiedCount === 1
  }

  async addRole (id: string, role: Role): Promise<void> {
    await this.collection.updateOne({ _id: id, ...LIVE }, { $addToSet: { roles: role } })
  }

  async delete (id: string, event: Envelope): Promise<boolean> {
    const result = await this.collection.updateOne(
      { _id: id, ...LIVE },
      {
        $set: {
          deleted: true,
          email_key: deletedKeyOf(id),
          password_hash: '',
          outbox_pending: true
        },
        $push: { outbox: outboxRecord(event) }
      }
    )
    return result.modifiedCount === 1
  }

  async pending (limit: number): Promise<OutboxEntry[]> {
    const docs = await this.collection
      .find({ outbox_pending: true }, { projection: { outbox: 1 } })
      .limit(limit)
      .toArray()
    return docs.flatMap((doc) => (doc.outbox ?? []).map((raw) => ({ owner: doc._id, raw })))
      .slice(0, limit)
  }

  async done (entry: OutboxEntry): Promise<void> {
    await this.collection.updateOne({ _id: entry.owner }, { $pull: { outbox: entry.raw } })
    // A deleted user's record has no reason to stay once its events are out.
    const empty = { _id: entry.owner, outbox: { $size: 0 } }
    const gone = await this.collection.deleteOne({ ...empty, deleted: true })
    if (gone.deletedCount === 0) {
      await this.collection.updateOne(empty, { $set: { outbox_pending: false } })
    }
  }

  async ping (): Promise<void> {
    await this.db.command({ ping: 1 })
  }

  async close (): Promise<void> {
    await this.onClose()
  }
}
