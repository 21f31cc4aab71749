import t from 'tap'
import { describeUrl, reach } from '../src/backing.js'

t.test('an address is described by scheme, host and port, without credentials', async (t) => {
  t.equal(
    describeUrl('amqp://guest:s3cret@rabbit.internal:5672/vhost'),
    'amqp://rabbit.internal:5672'
  )
  t.equal(describeUrl('mongodb://app:pw@db:27017/twofa?authSource=admin'), 'mongodb://db:27017')
})

t.test('an address that does not parse is described without repeating it', async (t) => {
  t.equal(describeUrl('redis//user:s3cret@'), '(unparseable address)')
})

t.test('reach passes a successful connection through', async (t) => {
  t.equal(await reach('Redis', 'redis://127.0.0.1:6379', async () => 'client'), 'client')
})

t.test('reach says which service at which address failed and why, ' +
  'without credentials', async (t) => {
  const refused = Object.assign(
    new Error('connect ECONNREFUSED 127.0.0.1:1'),
    { code: 'ECONNREFUSED' }
  )

  await t.rejects(
    reach('RabbitMQ', 'amqp://guest:s3cret@127.0.0.1:1', async () => { throw refused }),
    { message: 'RabbitMQ at amqp://127.0.0.1:1 is unreachable (ECONNREFUSED)' }
  )
  await t.rejects(
    reach('MongoDB', 'mongodb://127.0.0.1:1', async () => {
      throw new Error('server selection timed out')
    }),
    { message: 'MongoDB at mongodb://127.0.0.1:1 is unreachable (server selection timed out)' }
  )
})

t.test('a sentinel address with several hosts is described without its password', async (t) => {
  t.equal(describeUrl('redis-sentinel://:pw@10.0.0.1:26379,10.0.0.2:26379/mymaster'),
    'redis-sentinel://10.0.0.1:26379,10.0.0.2:26379')
})
