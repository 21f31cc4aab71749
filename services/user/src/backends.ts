import type { Logger } from 'pino'
import {
  FERRETDB_WARNING,
  connectMongo,
  connectServiceBus,
  fetchJwks,
  jwksKeyResolver,
  reach,
  type KeyResolver,
  type ReadinessCheck
} from '@twofa/kit'
import { MemoryInbox, type EventBus, type Inbox } from '@twofa/events'
import type { UserConfig } from './config.js'
import { MongoInbox } from './store/mongo-inbox.js'
import { MongoUserStore } from './store/mongo-users.js'
import { MemoryUserStore, type UserStore } from './store/users.js'

/** What the user service runs on, real or stand-in. */
export interface UserBackends {
  store: UserStore
  inbox: Inbox
  bus: EventBus
  resolveKey: KeyResolver
  checks: ReadinessCheck[]
  close: () => Promise<void>
}

export interface SharedBackends {
  bus?: EventBus
  resolveKey?: KeyResolver
}

/** Connects to the servers the config names, or builds the stand-ins named `memory://`. */
export async function connectUserBackends (
  config: UserConfig,
  log: Logger,
  shared: SharedBackends = {}
): Promise<UserBackends> {
  const closers: Array<() => Promise<void>> = []
  const checks: ReadinessCheck[] = []

  let store: UserStore
  let inbox: Inbox
  if (config.MONGO_URL.startsWith('memory:')) {
    log.warn(
      'using the in-memory stand-in for MongoDB (MONGO_URL=memory://): users are lost on restart'
    )
    store = new MemoryUserStore()
    inbox = new MemoryInbox()
  } else {
    const mongo = await reach('MongoDB', config.MONGO_URL, async () =>
      await connectMongo({ url: config.MONGO_URL, database: config.MONGO_DB }))
    if (mongo.ferretdb) log.warn({ ferretdb: mongo.ferretdb }, FERRETDB_WARNING)
    store = await MongoUserStore.open(mongo.db, async () => await mongo.client.close())
    inbox = new MongoInbox(mongo.db)
    closers.push(async () => await store.close())
    checks.push({ name: 'mongodb', check: async () => await store.ping() })
  }

  const events = await connectServiceBus(config, log, shared.bus)
  closers.push(events.close)
  checks.push(events.check)

  return {
    store,
    inbox,
    bus: events.bus,
    resolveKey: shared.resolveKey ?? jwksKeyResolver(async () => await fetchJwks(config.JWKS_URL)),
    checks,
    close: async () => {
      for (const close of closers.reverse()) await close().catch(() => {})
    }
  }
}
