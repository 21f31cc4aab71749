import { generateKeyPairSync, randomBytes } from 'node:crypto'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import {
  amqpBacking,
  mongoBacking,
  present,
  redisBacking,
  skipWithout,
  uniqueName,
  type Backing,
  type Unavailable
} from './backing.js'
import { deleteAmqpTopology, deleteRedisPrefix, dropMongoDatabases } from './cleanup.js'
import { freePort, startProcess, waitForOk, type ServiceProcess } from './processes.js'

/** The repository root, from this file's place in it (packages/testing/dist). */
const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..')

type ServiceName = 'auth' | 'totp' | 'user'
type Env = Record<string, string>

/** What the cluster needs of a tap test: a place to report, and a teardown to stop with it. */
export interface ClusterTest {
  comment: (message: string) => void
  teardown: (stop: () => Promise<void>) => void
}

/**
 * What clusters run on, found once per test file before its tests are
 * declared: Redis and RabbitMQ, and MongoDB when there is one (else each
 * service's in-memory store).
 */
export interface ClusterBackings {
  redis: Backing | Unavailable
  amqp: Backing | Unavailable
  mongo: Backing | Unavailable
  /** The `skip` option of a test that starts a cluster: why it cannot, or false. */
  skip: string | false
  /** Stops what finding them started (containers); for the file's teardown. */
  stop: () => Promise<void>
}

/** Finds Redis, RabbitMQ and MongoDB once, for the clusters of one test file. */
export async function clusterBackings (): Promise<ClusterBackings> {
  const redis = await redisBacking()
  const amqp = await amqpBacking()
  const mongo = await mongoBacking()
  return {
    redis,
    amqp,
    mongo,
    skip: skipWithout(redis, amqp),
    stop: async () => { await Promise.all([redis.stop(), amqp.stop(), mongo.stop()]) }
  }
}

export interface ClusterOptions {
  totpReplicas?: number
  authReplicas?: number
  /** Point the services at these instead of the real servers (e.g. a TcpLink). */
  redisUrl?: (real: string) => Promise<string>
  amqpUrl?: (real: string) => Promise<string>
  /** Settings for every service, over the cluster's own. */
  env?: Env
  /** Settings for one service only, e.g. ADMIN_EMAIL and ADMIN_PASSWORD for the user service. */
  serviceEnv?: Partial<Record<ServiceName, Env>>
}

export interface Answer {
  status: number
  body: any
  ms: number
}

export interface CallInit {
  method?: string
  body?: unknown
  token?: string
}

/** The services as separate processes on real Redis and RabbitMQ (and MongoDB when given). */
export interface Cluster {
  /** The public address of each replica. */
  auth: string[]
  totp: string[]
  user: string
  /** The user service's internal API, which answers only with the service credential. */
  userInternal: string
  redisUrl: string
  amqpUrl: string
  /** The prefix of every Redis key the services write. */
  prefix: string
  queuePrefix: string
  exchange: string
  /** True when MongoDB is real (MONGO_URL), false for the in-memory stores. */
  durable: boolean
  /** Every secret in the services' environment, for checks that none is ever logged. */
  secrets: string[]
  /** By name: `user`, `totp` and `auth`, numbered from 0 (`totp0`) when there are replicas. */
  processes: Map<string, ServiceProcess>
  /** Starts a stopped or killed process again, with the same settings and ports. */
  restart: (name: string) => Promise<void>
  call: (url: string, init?: CallInit) => Promise<Answer>
}

interface ProcessSpec {
  script: string
  env: Env
  ready: string
}

/** Sends a request with a JSON body (if any) and reads the JSON answer, timing it. */
async function call (url: string, init: CallInit = {}): Promise<Answer> {
  const started = Date.now()
  const response = await fetch(url, {
    method: init.method ?? (init.body === undefined ? 'GET' : 'POST'),
    headers: {
      ...(init.body !== undefined ? { 'content-type': 'application/json' } : {}),
      ...(init.token ? { authorization: `Bearer ${init.token}` } : {})
    },
    body: init.body === undefined ? undefined : JSON.stringify(init.body),
    signal: AbortSignal.timeout(15_000)
  })
  const text = await response.text()
  return { status: response.status, body: text ? JSON.parse(text) : null, ms: Date.now() - started }
}

/** `totp` for a lone replica, `totp0`, `totp1`, … for several. */
function replicaNames (service: ServiceName, count: number): string[] {
  return count === 1
    ? [service]
    : Array.from({ length: count }, (_, i) => `${service}${i}`)
}

interface Ports {
  auth: number[]
  totp: Array<{ public: number, internal: number }>
  user: { public: number, internal: number }
}

async function freePorts (options: ClusterOptions): Promise<Ports> {
  const auth = await Promise.all(Array.from({ length: options.authReplicas ?? 1 }, freePort))
  const totp = await Promise.all(Array.from({ length: options.totpReplicas ?? 1 }, async () =>
    ({ public: await freePort(), internal: await freePort() })))
  return { auth, totp, user: { public: await freePort(), internal: await freePort() } }
}

/** Fresh secrets for one run, as an operator would generate them. */
function newSecrets () {
  return {
    INTERNAL_TOKEN: randomBytes(32).toString('base64url'),
    TOTP_ENCRYPTION_KEYS: `k1:${randomBytes(32).toString('base64')}`,
    RECOVERY_CODE_PEPPER: randomBytes(32).toString('base64url'),
    SIGNING_KEY: generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey
      .export({ type: 'pkcs8', format: 'pem' })
      .toString()
  }
}

/** Where the services of one run keep their data, under names no other run uses. */
interface Placement {
  redisUrl: string
  amqpUrl: string
  mongoUrl: string
  prefix: string
  exchange: string
  queuePrefix: string
  databases: { user: string, totp: string }
}

/** Each process's script, settings and readiness address, in the order they start. */
function processSpecs (
  ports: Ports,
  place: Placement,
  secrets: ReturnType<typeof newSecrets>,
  options: ClusterOptions
): Map<string, ProcessSpec> {
  const common = {
    NODE_ENV: 'test',
    LOG_LEVEL: 'info',
    INTERNAL_TOKEN: secrets.INTERNAL_TOKEN,
    AMQP_URL: place.amqpUrl,
    AMQP_EXCHANGE: place.exchange,
    AMQP_QUEUE_PREFIX: place.queuePrefix,
    JWKS_URL: `http://127.0.0.1:${ports.auth[0] as number}/.well-known/jwks.json`,
    ...options.env
  }
  const specs = new Map<string, ProcessSpec>()
  const add = (name: string, service: ServiceName, port: number, env: Env): void => {
    specs.set(name, {
      script: join(root, `services/${service}/dist/server.js`),
      env: { ...common, PORT: String(port), ...env, ...options.serviceEnv?.[service] },
      ready: `http://127.0.0.1:${port}/readyz`
    })
  }

  // The user service first, then totp, then auth, whose readiness needs the other two.
  add('user', 'user', ports.user.public, {
    INTERNAL_PORT: String(ports.user.internal),
    MONGO_URL: place.mongoUrl,
    MONGO_DB: place.databases.user
  })
  replicaNames('totp', ports.totp.length).forEach((name, i) => {
    const own = ports.totp[i] as { public: number, internal: number }
    add(name, 'totp', own.public, {
      INTERNAL_PORT: String(own.internal),
      REDIS_URL: place.redisUrl,
      REDIS_PREFIX: place.prefix,
      MONGO_URL: place.mongoUrl,
      MONGO_DB: place.databases.totp,
      TOTP_ENCRYPTION_KEYS: secrets.TOTP_ENCRYPTION_KEYS,
      TOTP_ENCRYPTION_KEY_ID: 'k1',
      RECOVERY_CODE_PEPPER: secrets.RECOVERY_CODE_PEPPER
    })
  })
  replicaNames('auth', ports.auth.length).forEach((name, i) => {
    // Each auth replica talks to one totp replica, round robin.
    const totp = ports.totp[i % ports.totp.length] as { internal: number }
    add(name, 'auth', ports.auth[i] as number, {
      USER_SERVICE_URL: `http://127.0.0.1:${ports.user.internal}`,
      TOTP_SERVICE_URL: `http://127.0.0.1:${totp.internal}`,
      SIGNING_KEY: secrets.SIGNING_KEY,
      REDIS_URL: place.redisUrl,
      REDIS_PREFIX: place.prefix
    })
  })
  return specs
}

/**
 * Starts the user, totp and auth services as processes of their own from
 * their builds (services/<name>/dist/server.js), on real Redis and RabbitMQ
 * and on MongoDB when there is one (else each service's in-memory store),
 * under names no other run uses, in a test declared with
 * `skip: backings.skip`. Every process is stopped and what the services
 * wrote is deleted when the test ends.
 */
export async function startCluster (
  t: ClusterTest,
  backings: ClusterBackings,
  options: ClusterOptions = {}
): Promise<Cluster> {
  const redis = present(backings.redis)
  const amqp = present(backings.amqp)
  const { mongo } = backings
  const durable = 'url' in mongo
  t.comment(durable ? 'MongoDB: MONGO_URL' : `MongoDB: in-memory stores (${mongo.skip})`)

  const run = uniqueName('cluster')
  const place: Placement = {
    redisUrl: options.redisUrl ? await options.redisUrl(redis.url) : redis.url,
    amqpUrl: options.amqpUrl ? await options.amqpUrl(amqp.url) : amqp.url,
    mongoUrl: durable ? mongo.url : 'memory://',
    prefix: `${run}:`,
    exchange: `${run}.events`,
    queuePrefix: `${run}.`,
    databases: { user: `${run}_user`, totp: `${run}_totp` }
  }
  const ports = await freePorts(options)
  const secrets = newSecrets()
  const specs = processSpecs(ports, place, secrets, options)

  const processes = new Map<string, ServiceProcess>()
  const start = async (name: string): Promise<void> => {
    const spec = specs.get(name)
    if (!spec) throw new Error(`no process ${name}`)
    processes.set(name, startProcess(name, spec.script, spec.env))
    try {
      await waitForOk(spec.ready, 20_000, name)
    } catch (error) {
      for (const child of processes.values()) t.comment(`--- ${child.name} ---\n${child.output()}`)
      throw error
    }
  }

  t.teardown(async () => {
    for (const child of [...processes.values()].reverse()) await child.stop()
    await deleteRedisPrefix(redis.url, place.prefix)
    const queues = ['totp', 'user']
      .flatMap((c) => [`${place.queuePrefix}${c}`, `${place.queuePrefix}${c}.dead`])
    await deleteAmqpTopology(amqp.url, [place.exchange, `${place.exchange}.dlx`], queues)
    if (durable) await dropMongoDatabases(mongo.url, [place.databases.user, place.databases.totp])
  })

  for (const name of specs.keys()) await start(name)

  return {
    auth: ports.auth.map((port) => `http://127.0.0.1:${port}`),
    totp: ports.totp.map((own) => `http://127.0.0.1:${own.public}`),
    user: `http://127.0.0.1:${ports.user.public}`,
    userInternal: `http://127.0.0.1:${ports.user.internal}`,
    redisUrl: redis.url,
    amqpUrl: amqp.url,
    prefix: place.prefix,
    queuePrefix: place.queuePrefix,
    exchange: place.exchange,
    durable,
    secrets: Object.values(secrets),
    processes,
    restart: start,
    call
  }
}
