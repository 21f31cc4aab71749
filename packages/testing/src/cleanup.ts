import { connect } from 'amqplib'
import { Redis } from 'ioredis'
import { MongoClient } from 'mongodb'

/** Deletes every Redis key under a prefix. */
export async function deleteRedisPrefix (url: string, prefix: string): Promise<void> {
  const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1 })
  try {
    await redis.connect()
    let cursor = '0'
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 500)
      if (keys.length > 0) await redis.del(...keys)
      cursor = next
    } while (cursor !== '0')
  } finally {
    redis.disconnect()
  }
}

/** Deletes exchanges and queues a test declared on a shared broker. */
export async function deleteAmqpTopology (
  url: string,
  exchanges: string[],
  queues: string[]
): Promise<void> {
  const connection = await connect(url)
  try {
    const channel = await connection.createChannel()
    channel.on('error', () => {})
    for (const queue of queues) await channel.deleteQueue(queue)
    for (const exchange of exchanges) await channel.deleteExchange(exchange)
    await channel.close()
  } finally {
    await connection.close()
  }
}

/** Drops databases a test created. */
export async function dropMongoDatabases (url: string, databases: string[]): Promise<void> {
  const client = new MongoClient(url, { serverSelectionTimeoutMS: 3000 })
  try {
    await client.connect()
    for (const name of databases) await client.db(name).dropDatabase()
  } finally {
    await client.close()
  }
}

/** Every Redis key under a prefix, and the ones among them that never expire. */
export async function redisKeysWithoutTtl (
  url: string,
  prefix: string
): Promise<{ keys: string[], forever: string[] }> {
  const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1 })
  try {
    await redis.connect()
    const keys = await redis.keys(`${prefix}*`)
    const ttls = await Promise.all(keys.map(async (key) => await redis.pttl(key)))
    return { keys, forever: keys.filter((_, i) => (ttls[i] as number) < 0) }
  } finally {
    redis.disconnect()
  }
}
