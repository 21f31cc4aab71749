import t from 'tap'
import { mongoBacking, openMongoTestDatabase } from '@twofa/testing'
import { MemoryUserStore } from '../src/store/users.js'
import { MongoUserStore } from '../src/store/mongo-users.js'
import { userStoreContract } from './user-store-contract.js'

t.test('MemoryUserStore', async (t) => {
  userStoreContract(t, { open: async () => new MemoryUserStore() })
})

const backing = await mongoBacking()

if ('skip' in backing) {
  t.test('MongoUserStore', { skip: backing.skip }, async () => {})
} else {
  t.test('MongoUserStore', async (t) => {
    const database = await openMongoTestDatabase(backing, 'users')
    t.teardown(async () => {
      await database.drop()
      await backing.stop()
    })

    userStoreContract(t, {
      open: async () => {
        await database.clear()
        return await MongoUserStore.open(database.db)
      },
      skipRaces: database.skipRaces
    })
  })
}
