import type { Collection, Db } from 'mongodb'
import { isDuplicateKeyError } from '@twofa/kit'
import { outboxRecord, type Envelope, type OutboxEntry } from '@twofa/events'
import type { SealedSecret } from '../domain/secret-box.js'
import type { Factor, FactorStore } from './factors.js'

interface FactorFields {
  factor_id: string
  secret: SealedSecret
  recovery_hashes: string[]
  enabled_at: Date
}

/**
 * One document per user (`_id` is the user id, so the primary key alone
 * stops a second factor). `factor` is null once 2FA is off; the document
 * stays until its outbox is empty, then the relay removes it.
 */
interface FactorDocument {
  _id: string
  factor: FactorFields | null
  /** Events written with the changes they describe, as JSON, oldest first. */
  outbox: string[]
  outbox_pending: boolean
  /** The user was deleted: this document stays, and no factor is created again. */
  deleted?: boolean
}

function toFactor (userId: string, fields: FactorFields): Factor {
  return {
    userId,
    factorId: fields.factor_id,
    secret: fields.secret,
    recoveryHashes: fields.recovery_hashes,
    enabledAt: fields.enabled_at
  }
}

/** The update part that adds an event to a document's outbox. */
function withEvent (event: Envelope) {
  return { $push: { outbox: outboxRecord(event) } }
}

/**
 * Factors in MongoDB. Each change and its event are one update of one
 * document, which MongoDB applies atomically.
 *
 * Uses only what FerretDB 1.x also supports (plain finds, `$set`, `$push`,
 * `$pull` of a value, `$size`, upsert, find-and-modify), and gives the same
 * answers there one call at a time. Under concurrency only MongoDB keeps the
 * promises: FerretDB 1.x runs an update as a read followed by a write by id
 * that does not check the document is unchanged, so two updates of one
 * document can undo each other. The domain therefore changes one account's
 * factor under a lease, and the contract tests of races skip on FerretDB.
 */
export class MongoFactorStore implements FactorStore {
  private readonly collection: Collection<FactorDocument>

  private constructor (db: Db, private readonly onClose: () => Promise<void>) {
    this.collection = db.collection<FactorDocument>('factors')
  }

  static async open (
    db: Db,
    onClose: () => Promise<void> = async () => {}
  ): Promise<MongoFactorStore> {
    const store = new MongoFactorStore(db, onClose)
    await store.collection.createIndex({ outbox_pending: 1 }, { name: 'outbox_pending' })
    return store
  }

  async get (userId: string): Promise<Factor | null> {
    const doc = await this.collection.findOne({ _id: userId, factor: { $ne: null } })
    return doc?.factor ? toFactor(doc._id, doc.factor) : null
  }

  async create (factor: Factor, event: Envelope): Promise<boolean> {
    const fields: FactorFields = {
      factor_id: factor.factorId,
      secret: factor.secret,
      recovery_hashes: factor.recoveryHashes,
      enabled_at: factor.enabledAt
    }
    try {
      // Matches a missing document or one whose factor is off; with a factor
      // on, the upsert's insert hits the primary key instead.
      await this.collection.updateOne(
        { _id: factor.userId, factor: null, deleted: { $ne: true } },
        { $set: { factor: fields, outbox_pending: true }, ...withEvent(event) },
        { upsert: true }
      )
      return true
    } catch (error) {
      if (isDuplicateKeyError(error)) return false
      throw error
    }
  }

  async remove (userId: string, factorId: string, event: Envelope): Promise<Factor | null> {
    // Driver 6+ returns the document itself (or null), not a result wrapper.
    const before = await this.collection.findOneAndUpdate(
      { _id: userId, 'factor.factor_id': factorId },
      { $set: { factor: null, outbox_pending: true }, ...withEvent(event) },
      { returnDocument: 'before' }
    )
    return before?.factor ? toFactor(userId, before.factor) : null
  }

  async consumeRecoveryHash (
    userId: string,
    factorId: string,
    hash: string,
    event: Envelope
  ): Promise<boolean> {
    // The filter names the hash, so of concurrent updates only one matches it.
    const result = await this.collection.updateOne(
      { _id: userId, 'factor.factor_id': factorId, 'factor.recovery_hashes': hash },
      {
        $pull: { 'factor.recovery_hashes': hash },
        $set: { outbox_pending: true },
        ...withEvent(event)
      }
    )
    return result.modifiedCount === 1
  }

  async replaceRecoveryHashes (
    userId: string,
    factorId: string,
    hashes: string[],
    event: Envelope
  ): Promise<boolean> {
    const result = await this.collection.updateOne(
      { _id: userId, 'factor.factor_id': factorId },
      { $set: { 'factor.recovery_hashes': hashes, outbox_pending: true }, ...withEvent(event) }
    )
    return result.matchedCount === 1
  }

  async resealSecret (
    userId: string,
    factorId: string,
    previous: SealedSecret,
    next: SealedSecret
  ): Promise<boolean> {
    const result = await this.collection.updateOne(
      {
        _id: userId,
        'factor.factor_id': factorId,
        'factor.secret.kid': previous.kid,
        'factor.secret.ct': previous.ct
      },
      { $set: { 'factor.secret': next } }
    )
    return result.modifiedCount === 1
  }

  async markDeleted (userId: string): Promise<void> {
    await this.collection.updateOne(
      { _id: userId },
      {
        $set: { deleted: true },
        $setOnInsert: { factor: null, outbox: [], outbox_pending: false }
      },
      { upsert: true }
    )
  }

  async isDeleted (userId: string): Promise<boolean> {
    return await this.collection.countDocuments({ _id: userId, deleted: true }, { limit: 1 }) > 0
  }

  async page (afterUserId: string | null, limit: number): Promise<Factor[]> {
    const filter = afterUserId === null
      ? { factor: { $ne: null } }
      : { factor: { $ne: null }, _id: { $gt: afterUserId } }
    const docs = await this.collection.find(filter).sort({ _id: 1 }).limit(limit).toArray()
    return docs.flatMap((doc) => doc.factor ? [toFactor(doc._id, doc.factor)] : [])
  }

  async pending (limit: number): Promise<OutboxEntry[]> {
    const docs = await this.collection
      .find({ outbox_pending: true }, { projection: { outbox: 1 } })
      .limit(limit)
      .toArray()
    return docs.flatMap((doc) => doc.outbox.map((raw) => ({ owner: doc._id, raw }))).slice(0, limit)
  }

  async done (entry: OutboxEntry): Promise<void> {
    await this.collection.updateOne({ _id: entry.owner }, { $pull: { outbox: entry.raw } })
    // A document whose factor is off and whose events are out has no reason to stay.
    const empty = { _id: entry.owner, outbox: { $size: 0 } }
    const gone = await this.collection.deleteOne({ ...empty, factor: null, deleted: { $ne: true } })
    if (gone.deletedCount === 0) {
      await this.collection.updateOne(empty, { $set: { outbox_pending: false } })
    }
  }

  async close (): Promise<void> {
    await this.onClose()
  }
}
