import type { Collection, Db } from 'mongodb'
import type { Inbox } from '@twofa/events'
import { isDuplicateKeyError } from '@twofa/kit'

interface InboxDocument {
  _id: string
  handled_at: Date
}

/**
 * The consumer inbox in MongoDB: one document per handled event, keyed by
 * consumer and event id.
 */
export class MongoInbox implements Inbox {
  private readonly collection: Collection<InboxDocument>

  constructor (db: Db) {
    this.collection = db.collection<InboxDocument>('inbox')
  }

  async seen (consumer: string, eventId: string): Promise<boolean> {
    return (await this.collection.findOne({ _id: `${consumer}:${eventId}` })) !== null
  }

  async record (consumer: string, eventId: string): Promise<void> {
    try {
      await this.collection.insertOne({ _id: `${consumer}:${eventId}`, handled_at: new Date() })
    } catch (error) {
      if (!isDuplicateKeyError(error)) throw error
    }
  }
}
