import t from 'tap'
import { mongoBacking, openMongoTestDatabase } from '@twofa/testing'
import { MemoryFactorStore } from '../src/store/factors.js'
import { MongoFactorStore } from '../src/store/mongo-factors.js'
import { factorStoreContract } from './factor-store-contract.js'

t.test('MemoryFactorStore', async (t) => {
  factorStoreContract(t, { open: async () => new MemoryFactorStore() })
})

const backing = await mongoBacking()

if ('skip' in backing) {
  t.test('MongoFactorStore', { skip: backing.skip }, async () => {})
} else {
  t.test('MongoFactorStore', async (t) => {
    const database = await openMongoTestDatabase(backing, 'factors')
    t.teardown(async () => {
      await database.drop()
      await backing.stop()
    })

    factorStoreContract(t, {
      open: async () => {
        await database.clear()
        return await MongoFactorStore.open(database.db)
      },
      skipRaces: database.skipRaces
    })
  })
}
