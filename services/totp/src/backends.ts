import type { Logger } from 'pino'
import {
  FERRETDB_WARNING,
  connectMongo,
  connectRedis,
  connectServiceBus,
  fetchJwks,
  jwksKeyResolver,
  reach,
  type KeyResolver,
  type ReadinessCheck
} from '@twofa/kit'
import { MemoryInbox, type EventBus, type Inbox } from '@twofa/events'
import type { TotpConfig } from './config.js'
import { MemoryFactorStore, type FactorStore } from './store/factors.js'
import { MongoFactorStore } from './store/mongo-factors.js'
import { RedisInbox } from './store/redis-inbox.js'
import { RedisVolatileStore } from './store/redis-volatile.js'
import { MemoryVolatileStore, type VolatileStore } from './store/volatile.js'

/** What the totp service runs on, real or stand-in. */
export interface TotpBackends {
  factors: FactorStore
  state: VolatileStore
  inbox: Inbox
  bus: EventBus
  resolveKey: KeyResolver
  checks: ReadinessCheck[]
  close: () => Promise<void>
}

export interface SharedBackends {
  /** A bus shared with other services in the same process. */
  bus?: EventBus
  resolveKey?: KeyResolver
}

/**
 * Connects to the servers the config names, or builds the in-memory
 * stand-in for each one named `memory://`. Any server that does not answer
 * stops the start with a line that says which.
 */
export async function connectTotpBackends (
  config: TotpConfig,
  log: Logger,
  shared: SharedBackends = {}
): Promise<TotpBackends> {
  const closers: Array<() => Promise<void>> = []
  const checks: ReadinessCheck[] = []

  let state: VolatileStore
  let inbox: Inbox
  if (config.REDIS_URL.startsWith('memory:')) {
    log.warn(
      'using the in-memory stand-in for Redis (REDIS_URL=memory://): state is lost on restart'
    )
    state = new MemoryVolatileStore()
    inbox = new MemoryInbox()
  } else {
    const redis = await reach('Redis', config.REDIS_URL, async () =>
      await connectRedis({ url: config.REDIS_URL, keyPrefix: config.REDIS_PREFIX }, log))
    state = new RedisVolatileStore(redis)
    inbox = new RedisInbox(redis)
    closers.push(async () => await state.close())
    checks.push({ name: 'redis', check: async () => await state.ping() })
  }

  let factors: FactorStore
  if (config.MONGO_URL.startsWith('memory:')) {
    log.warn(
      'using the in-memory stand-in for MongoDB (MONGO_URL=memory://): factors are lost on restart'
    )
    factors = new MemoryFactorStore()
  } else {
    const mongo = await reach('MongoDB', config.MONGO_URL, async () =>
      await connectMongo({ url: config.MONGO_URL, database: config.MONGO_DB }))
    if (mongo.ferretdb) log.warn({ ferretdb: mongo.ferretdb }, FERRETDB_WARNING)
    factors = await MongoFactorStore.open(mongo.db)
    closers.push(async () => await mongo.client.close())
    checks.push({ name: 'mongodb', check: async () => { await mongo.db.command({ ping: 1 }) } })
  }

  const events = await connectServiceBus(config, log, shared.bus)
  closers.push(events.close)
  checks.push(events.check)

  const resolveKey = shared.resolveKey ??
    jwksKeyResolver(async () => await fetchJwks(config.JWKS_URL))

  return {
    factors,
    state,
    inbox,
    bus: events.bus,
    resolveKey,
    checks,
    close: async () => {
      for (const close of closers.reverse()) await close().catch(() => {})
    }
  }
}
