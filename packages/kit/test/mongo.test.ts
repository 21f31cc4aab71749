import net, { type AddressInfo } from 'node:net'
import t from 'tap'
import { mongoBacking, uniqueName, type Backing } from '@twofa/testing'
import { connectMongo, isDuplicateKeyError } from '../src/mongo.js'

t.test('connectMongo fails, and does not hang, when the server does not speak to it', async (t) => {
  const silent = net.createServer((socket) => socket.destroy())
  await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve))
  t.teardown(() => { silent.close() })
  const { port } = silent.address() as AddressInfo

  await t.rejects(
    connectMongo({
      url: `mongodb://127.0.0.1:${port}`,
      database: 'x',
      serverSelectionTimeoutMs: 300
    }),
    { name: 'MongoServerSelectionError' }
  )
})

const mongo = await mongoBacking()
t.teardown(async () => { if (!('skip' in mongo)) await mongo.stop() })

t.test('connectMongo reaches a server and answers with a handle on the database', {
  skip: 'skip' in mongo ? mongo.skip : false
}, async (t) => {
  const backing = mongo as Backing
  const database = uniqueName('kit')

  const settings = { url: backing.url, database, serverSelectionTimeoutMs: 2000 }
  const { client, db } = await connectMongo(settings)
  t.teardown(async () => {
    await db.dropDatabase()
    await client.close()
  })

  t.equal(db.databaseName, database)
  t.match(await db.command({ ping: 1 }), { ok: 1 })
})

t.test('a duplicate key error is recognised by its code, and nothing else is', async (t) => {
  t.ok(isDuplicateKeyError(Object.assign(new Error('E11000 duplicate key error'), { code: 11000 })))
  t.notOk(isDuplicateKeyError(Object.assign(new Error('not primary'), { code: 10107 })))
  t.notOk(isDuplicateKeyError(new Error('E11000 in the message only')))
  t.notOk(isDuplicateKeyError(null))
  t.notOk(isDuplicateKeyError('E11000'))
})
