import t from 'tap'
import { MemoryInbox } from '@twofa/events'
import { mongoBacking, openMongoTestDatabase } from '@twofa/testing'
import { MongoInbox } from '../src/store/mongo-inbox.js'
import { inboxContract } from './inbox-contract.js'

t.test('MemoryInbox', async (t) => {
  inboxContract(t, { open: async () => new MemoryInbox() })
})

const backing = await mongoBacking()

if ('skip' in backing) {
  t.test('MongoInbox', { skip: backing.skip }, async () => {})
} else {
  t.test('MongoInbox', async (t) => {
    const database = await openMongoTestDatabase(backing, 'inbox')
    t.teardown(async () => {
      await database.drop()
      await backing.stop()
    })

    inboxContract(t, {
      open: async () => {
        await database.clear()
        return new MongoInbox(database.db)
      }
    })
  })
}
