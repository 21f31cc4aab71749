import { Redis } from 'ioredis'
import type { Logger } from 'pino'

export interface RedisSettings {
  url: string
  /** Prepended to every key, so several deployments or tests can share a server. */
  keyPrefix: string
  /** Longest a command may take before the request that needs it fails. */
  commandTimeoutMs?: number
}

/**
 * Connects to Redis for request paths: commands fail at once while the
 * connection is down instead of queueing, and each command has a time bound,
 * so a Redis outage turns into a prompt 503 rather than a hung login.
 * Reconnection goes on in the background.
 */
export async function connectRedis (settings: RedisSettings, log: Logger): Promise<Redis> {
  const client = new Redis(settings.url, {
    keyPrefix: settings.keyPrefix,
    lazyConnect: true,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    commandTimeout: settings.commandTimeoutMs ?? 2000,
    connectTimeout: 3000,
    retryStrategy: (attempt) => Math.min(attempt * 200, 2000)
  })

  let reported = false
  client.on('error', (error: Error) => {
    // One line per outage, not one per reconnect attempt.
    if (!reported) log.error({ err: error }, 'redis connection error')
    reported = true
  })
  client.on('ready', () => {
    if (reported) log.info('redis connection restored')
    reported = false
  })

  await client.connect()
  return client
}
