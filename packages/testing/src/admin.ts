import { connect } from 'amqplib'
import { Redis } from 'ioredis'

/**
 * What an operator (or a failure) does to a backing server behind the
 * services' backs, for tests that check the services cope.
 */

/** SCRIPT FLUSH: every Lua script the server had loaded is gone. */
export async function flushRedisScripts (url: string): Promise<void> {
  const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1 })
  try {
    await redis.connect()
    await redis.script('FLUSH')
  } finally {
    redis.disconnect()
  }
}

/** Publishes a message to an exchange as a producer would, persistent, routed by its type. */
export async function publishRaw (
  url: string,
  exchange: string,
  message: { type: string, [field: string]: unknown }
): Promise<void> {
  const connection = await connect(url)
  try {
    const channel = await connection.createConfirmChannel()
    const content = Buffer.from(JSON.stringify(message))
    channel.publish(exchange, message.type, content, { persistent: true })
    await channel.waitForConfirms()
    await channel.close()
  } finally {
    await connection.close()
  }
}

/** Deletes a queue, as someone clearing up the broker would; its consumers are cancelled. */
export async function deleteQueue (url: string, queue: string): Promise<void> {
  const connection = await connect(url)
  try {
    const channel = await connection.createChannel()
    await channel.deleteQueue(queue)
    await channel.close()
  } finally {
    await connection.close()
  }
}
