import type { Collection, Db } from 'mongodb'
import { isDuplicateKeyError } from '@twofa/kit'
import type { SealedSecret } from '../domain/secret-box.js'
import type { Factor, FactorStore } from './factors.js'

interface FactorDocument {
  _id: string
  factor_id: string
  secret: SealedSecret
  recovery_hashes: string[]
  enabled_at: Date
}

function toFactor (doc: FactorDocument): Factor {
  return {
    userId: doc._id,
    factorId: doc.factor_id,
    secret: doc.secret,
    recoveryHashes: doc.recovery_hashes,
    enabledAt: doc.enabled_at
  }
}

/**
 * Factors in MongoDB, one document per user (`_id` is the user id, so the
 * primary key alone stops a second factor).
 *
 * Uses only what FerretDB 1.x also supports (plain finds, `$pull`/`$set`
 * updates, find-and-delete), and gives the same answers there one call at a
 * time. Under concurrency only MongoDB keeps the promises: FerretDB 1.x runs
 * an update or find-and-delete as a read followed by a write or delete by id
 * that does not check the document is unchanged, so two callers can both
 * consume the same recovery hash or both receive a removed factor, and one
 * update can undo another. The contract tests of races skip on FerretDB.
 */
export class MongoFactorStore implements FactorStore {
  private readonly collection: Collection<FactorDocument>

  constructor (db: Db, private readonly onClose: () => Promise<void> = async () => {}) {
    this.collection = db.collection<FactorDocument>('factors')
  }

  async get (userId: string): Promise<Factor | null> {
    const doc = await this.collection.findOne({ _id: userId })
    return doc ? toFactor(doc) : null
  }

  async create (factor: Factor): Promise<boolean> {
    try {
      await this.collection.insertOne({
        _id: factor.userId,
        factor_id: factor.factorId,
        secret: factor.secret,
        recovery_hashes: factor.recoveryHashes,
        enabled_at: factor.enabledAt
      })
      return true
    } catch (error) {
      if (isDuplicateKeyError(error)) return false
      throw error
    }
  }

  async remove (userId: string): Promise<Factor | null> {
    // Driver 6+ returns the document itself (or null), not a result wrapper.
    const doc = await this.collection.findOneAndDelete({ _id: userId })
    return doc ? toFactor(doc) : null
  }

  async consumeRecoveryHash (userId: string, factorId: string, hash: string): Promise<boolean> {
    // The filter names the hash, so of concurrent updates only one matches it.
    const result = await this.collection.updateOne(
      { _id: userId, factor_id: factorId, recovery_hashes: hash },
      { $pull: { recovery_hashes: hash } }
    )
    return result.modifiedCount === 1
  }

  async replaceRecoveryHashes (
    userId: string,
    factorId: string,
    hashes: string[]
  ): Promise<boolean> {
    const result = await this.collection.updateOne(
      { _id: userId, factor_id: factorId },
      { $set: { recovery_hashes: hashes } }
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
      { _id: userId, factor_id: factorId, 'secret.kid': previous.kid, 'secret.ct': previous.ct },
      { $set: { secret: next } }
    )
    return result.modifiedCount === 1
  }

  async page (afterUserId: string | null, limit: number): Promise<Factor[]> {
    const filter = afterUserId === null ? {} : { _id: { $gt: afterUserId } }
    const docs = await this.collection.find(filter).sort({ _id: 1 }).limit(limit).toArray()
    return docs.map(toFactor)
  }

  async close (): Promise<void> {
    await this.onClose()
  }
}
