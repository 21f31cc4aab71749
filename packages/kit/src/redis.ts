import { Redis, type RedisOptions } from 'ioredis'
import type { Logger } from 'pino'

/**
 * Where to connect: a `redis://` or `rediss://` URL for one server, or
 * `redis-sentinel://[:password@]host:port,host:port/master-name` to find the
 * current primary through Sentinel and follow it across failovers.
 */
export function redisTarget (url: string): { url: string } | { options: RedisOptions } {
  const sentinel = /^redis-sentinel:\/\/(?:(?:[^:@/]*):([^@/]*)@)?([^/]+)\/([^/?]+)/.exec(url)
  if (!sentinel) return { url }

  const [, password, hosts = '', name] = sentinel
  const sentinels = hosts.split(',').map((entry) => {
    const [host = '', port = '26379'] = entry.split(':')
    return { host, port: Number(port) }
  })
  return {
    options: {
      sentinels,
      name,
      ...(password ? { password: decodeURIComponent(password) } : {})
    }
  }
}

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
  const target = redisTarget(settings.url)
  const options: RedisOptions = {
    keyPrefix: settings.keyPrefix,
    lazyConnect: true,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    commandTimeout: settings.commandTimeoutMs ?? 2000,
    connectTimeout: 3000,
    retryStrategy: (attempt) => Math.min(attempt * 200, 2000)
  }
  const client = 'url' in target
    ? new Redis(target.url, options)
    : new Redis({ ...target.options, ...options })

  // One line when the connection goes (whether or not an error came with
  // it: a server that shuts down just closes) and one when it is back.
  let down = false
  const lost = (error?: Error): void => {
    if (!down) log.error({ err: error }, 'redis connection lost')
    down = true
  }
  client.on('error', lost)
  client.on('reconnecting', () => lost())
  client.on('ready', () => {
    if (down) log.info('redis connection restored')
    down = false
  })

  try {
    await client.connect()
  } catch (error) {
    // Otherwise the client would go on reconnecting in the background.
    client.disconnect()
    throw error
  }
  return client
}
