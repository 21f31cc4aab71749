import { generateKeyPairSync, randomBytes } from 'node:crypto'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { Test } from 'tap'
import {
  amqpBacking,
  deleteAmqpTopology,
  deleteRedisPrefix,
  dropMongoDatabases,
  freePort,
  mongoBacking,
  redisBacking,
  startProcess,
  uniqueName,
  waitForOk,
  type ServiceProcess
} from '@twofa/testing'

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..')

export interface ClusterOptions {
  totpReplicas?: number
  authReplicas?: number
  /** Point the services at these instead of the real servers (e.g. a TcpLink). */
  redisUrl?: (real: string) => Promise<string>
  amqpUrl?: (real: string) => Promise<string>
  env?: Record<string, string>
}

export interface Answer {
  status: number
  body: any
  ms: number
}

/** The services as separate processes on real Redis and RabbitMQ (and MongoDB when given). */
export interface Cluster {
  auth: string[]
  totp: string[]
  user: string
  redisUrl: string
  amqpUrl: string
  /** The prefix of every Redis key the services write. */
  prefix: string
  queuePrefix: string
  exchange: string
  /** True when MongoDB is real (MONGO_URL), false for the in-memory stores. */
  durable: boolean
  processes: Map<string, ServiceProcess>
  /** Starts a stopped or killed process again, with the same settings and ports. */
  restart: (name: string) => Promise<void>
  call: (url: string, init?: { method?: string, body?: unknown, token?: string }) => Promise<Answer>
}

/** Answers the request over HTTP, timing it. */
async function call (
  url: string,
  init: { method?: string, body?: unknown, token?: string } = {}
): Promise<Answer> {
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

export async function startCluster (t: Test, options: ClusterOptions = {}): Promise<Cluster> {
  const redis = await redisBacking()
  const amqp = await amqpBacking()
  const mongo = await mongoBacking()
  const durable = 'url' in mongo
  const redisUrl = options.redisUrl ? await options.redisUrl(redis.url) : redis.url
  const amqpUrl = options.amqpUrl ? await options.amqpUrl(amqp.url) : amqp.url

  const run = uniqueName('cluster')
  const names = { prefix: `${run}:`, exchange: `${run}.events`, queuePrefix: `${run}.` }
  const databases = { user: `${run}_user`, totp: `${run}_totp` }
  const authPorts = await Promise.all(Array.from({ length: options.authReplicas ?? 1 }, freePort))
  const totpPorts = await Promise.all(Array.from({ length: options.totpReplicas ?? 1 }, async () =>
    ({ public: await freePort(), internal: await freePort() })))
  const userPorts = { public: await freePort(), internal: await freePort() }
  const totpPort = (i: number) => totpPorts[i % totpPorts.length] as { internal: number }

  const common = {
    NODE_ENV: 'test',
    LOG_LEVEL: 'info',
    INTERNAL_TOKEN: randomBytes(32).toString('base64url'),
    AMQP_URL: amqpUrl,
    AMQP_EXCHANGE: names.exchange,
    AMQP_QUEUE_PREFIX: names.queuePrefix,
    REDIS_URL: redisUrl,
    REDIS_PREFIX: names.prefix,
    MONGO_URL: durable ? mongo.url : 'memory://',
    JWKS_URL: `http://127.0.0.1:${authPorts[0] as number}/.well-known/jwks.json`,
    ADMIN_REQUIRE_2FA: 'false',
    ...options.env
  }
  const signingKey = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey
    .export({ type: 'pkcs8', format: 'pem' }).toString()
  const totpSecrets = {
    TOTP_ENCRYPTION_KEYS: `k1:${randomBytes(32).toString('base64')}`,
    TOTP_ENCRYPTION_KEY_ID: 'k1',
    RECOVERY_CODE_PEPPER: randomBytes(32).toString('base64url')
  }

  const specs = new Map<string, { script: string, env: Record<string, string>, ready: string }>()
  specs.set('user', {
    script: 'services/user/dist/server.js',
    env: {
      ...common,
      PORT: String(userPorts.public),
      INTERNAL_PORT: String(userPorts.internal),
      MONGO_DB: databases.user
    },
    ready: `http://127.0.0.1:${userPorts.public}/readyz`
  })
  totpPorts.forEach((ports, i) => specs.set(`totp${i}`, {
    script: 'services/totp/dist/server.js',
    env: {
      ...common,
      ...totpSecrets,
      PORT: String(ports.public),
      INTERNAL_PORT: String(ports.internal),
      MONGO_DB: databases.totp
    },
    ready: `http://127.0.0.1:${ports.public}/readyz`
  }))
  authPorts.forEach((port, i) => specs.set(`auth${i}`, {
    script: 'services/auth/dist/server.js',
    env: {
      ...common,
      PORT: String(port),
      SIGNING_KEY: signingKey,
      USER_SERVICE_URL: `http://127.0.0.1:${userPorts.internal}`,
      // Each auth replica talks to one totp replica, round robin.
      TOTP_SERVICE_URL: `http://127.0.0.1:${totpPort(i).internal}`
    },
    ready: `http://127.0.0.1:${port}/readyz`
  }))

  const processes = new Map<string, ServiceProcess>()
  const start = async (name: string): Promise<void> => {
    const spec = specs.get(name)
    if (!spec) throw new Error(`no process ${name}`)
    const child = startProcess(name, join(root, spec.script), spec.env)
    processes.set(name, child)
    try {
      await waitForOk(spec.ready, 20_000, name)
    } catch (error) {
      t.comment(`--- ${name} ---\n${child.output()}`)
      throw error
    }
  }

  t.teardown(async () => {
    for (const child of [...processes.values()].reverse()) await child.stop()
    await deleteRedisPrefix(redis.url, names.prefix)
    const queues = ['totp', 'user']
      .flatMap((c) => [`${names.queuePrefix}${c}`, `${names.queuePrefix}${c}.dead`])
    await deleteAmqpTopology(amqp.url, [names.exchange, `${names.exchange}.dlx`], queues)
    if (durable) await dropMongoDatabases(mongo.url, [databases.user, databases.totp])
    await Promise.all([redis.stop(), amqp.stop(), durable ? mongo.stop() : undefined])
  })

  // The user service first (auth checks it), then the others.
  await start('user')
  for (const name of specs.keys()) if (name.startsWith('totp')) await start(name)
  for (const name of specs.keys()) if (name.startsWith('auth')) await start(name)

  return {
    auth: authPorts.map((port) => `http://127.0.0.1:${port}`),
    totp: totpPorts.map((ports) => `http://127.0.0.1:${ports.public}`),
    user: `http://127.0.0.1:${userPorts.public}`,
    redisUrl: redis.url,
    amqpUrl: amqp.url,
    prefix: names.prefix,
    queuePrefix: names.queuePrefix,
    exchange: names.exchange,
    durable,
    processes,
    restart: start,
    call
  }
}
