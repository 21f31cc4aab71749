import { generateKeyPairSync, randomBytes } from 'node:crypto'
import { join } from 'node:path'
import { connect } from 'amqplib'
import {
  deleteAmqpTopology,
  deleteRedisPrefix,
  dropMongoDatabases,
  freePort,
  uniqueName
} from '@twofa/testing'
import { startBenchProcess, type BenchProcess } from './processes.js'

/** Where the backing servers are; `mongoUrl` is null for the services' in-memory stores. */
export interface Backings {
  redisUrl: string
  amqpUrl: string
  mongoUrl: string | null
}

export type DeploymentKind = 'one-process' | 'separate'

/** The system under test, started by the bench on loopback. */
export interface Deployment {
  kind: DeploymentKind
  /** Public base URLs; in the one-process start all three are the same. */
  urls: { auth: string, users: string, totp: string }
  processes: BenchProcess[]
  /** Where each process answers `GET /metrics`. */
  metrics: Array<{ name: string, url: string }>
  /** What the totp and user services read, so the bench can seed through their own code. */
  serviceEnv: { totp: Record<string, string>, user: Record<string, string> }
  /** The private key the access tokens are signed with, for the bare floor routes. */
  signingKey: string
  /** Resolves once the services' event queues have stayed empty for a moment. */
  quiet: () => Promise<void>
  /** Stops every process, then removes the keys, queues and databases the run made. */
  stop: () => Promise<void>
}

export interface DeploymentOptions {
  /** Where services write their logs and profiles. */
  workDir: string
  /** Extra arguments for node in every process, such as `--cpu-prof`. */
  nodeArgs?: string[]
}

const UNUSED_JWKS = 'http://127.0.0.1:9/.well-known/jwks.json'

const root = join(import.meta.dirname, '..', '..', '..')

/**
 * Settings that take the limits meant for people out of the way of a load
 * run from one address: no per-address rate limit, no sign-in lockout, and
 * challenges that outlive the slowest login run of the full mode.
 */
const LOAD_SETTINGS = {
  LOG_LEVEL: 'info',
  RATE_LIMIT_PER_MINUTE: '0',
  REGISTRATION_RATE_PER_MINUTE: '0',
  SIGNIN_FAILURE_LIMIT: '1000000',
  CHALLENGE_TTL_SECONDS: '1800',
  SHUTDOWN_DELAY_SECONDS: '0'
}

function freshSecrets (): Record<string, string> {
  const signingKey = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey
    .export({ type: 'pkcs8', format: 'pem' }).toString()
  return {
    INTERNAL_TOKEN: randomBytes(32).toString('base64url'),
    SIGNING_KEY: signingKey,
    TOTP_ENCRYPTION_KEYS: `k1:${randomBytes(32).toString('base64')}`,
    TOTP_ENCRYPTION_KEY_ID: 'k1',
    RECOVERY_CODE_PEPPER: randomBytes(32).toString('base64url')
  }
}

interface Names {
  run: string
  prefix: string
  exchange: string
  queuePrefix: string
}

function namesFor (kind: DeploymentKind): Names {
  const run = uniqueName(`bench_${kind === 'one-process' ? 'one' : 'sep'}`)
  return { run, prefix: `${run}:`, exchange: `${run}.events`, queuePrefix: `${run}.` }
}

/** What every process of a deployment reads, whatever its role. */
function commonEnv (backings: Backings, names: Names): Record<string, string> {
  return {
    NODE_ENV: backings.mongoUrl ? 'production' : 'development',
    HOST: '127.0.0.1',
    REDIS_URL: backings.redisUrl,
    REDIS_PREFIX: names.prefix,
    AMQP_URL: backings.amqpUrl,
    AMQP_EXCHANGE: names.exchange,
    AMQP_QUEUE_PREFIX: names.queuePrefix,
    MONGO_URL: backings.mongoUrl ?? 'memory://',
    ...LOAD_SETTINGS
  }
}

function queuesOf (names: Names): string[] {
  return ['totp', 'user'].map((consumer) => `${names.queuePrefix}${consumer}`)
}

/**
 * Waits until the consumers have caught up with the events that seeding
 * set off, so their work does not land in a measurement. The outbox relays
 * publish in batches, so one empty look is not enough.
 */
async function waitForQuiet (amqpUrl: string, queues: string[], timeoutMs = 120_000) {
  const connection = await connect(amqpUrl)
  try {
    const channel = await connection.createChannel()
    const deadline = Date.now() + timeoutMs
    let emptyLooks = 0
    while (emptyLooks < 4 && Date.now() < deadline) {
      const depths = await Promise.all(queues.map(async (queue) =>
        (await channel.checkQueue(queue)).messageCount))
      emptyLooks = depths.every((depth) => depth === 0) ? emptyLooks + 1 : 0
      await new Promise((resolve) => setTimeout(resolve, 300))
    }
    await channel.close()
  } finally {
    await connection.close()
  }
}

/** Removes what the services declared and wrote under the run's names. */
async function cleanUp (backings: Backings, names: Names, databases: string[]): Promise<void> {
  await deleteRedisPrefix(backings.redisUrl, names.prefix)
  const queues = queuesOf(names).flatMap((queue) => [queue, `${queue}.dead`])
  await deleteAmqpTopology(backings.amqpUrl, [names.exchange, `${names.exchange}.dlx`], queues)
  if (backings.mongoUrl && databases.length > 0) {
    await dropMongoDatabases(backings.mongoUrl, databases)
  }
}

function stopper (
  processes: BenchProcess[],
  backings: Backings,
  names: Names,
  databases: string[]
): () => Promise<void> {
  let stopped: Promise<void> | null = null
  return async () => {
    stopped ??= (async () => {
      for (const child of [...processes].reverse()) await child.stop()
      await cleanUp(backings, names, databases)
    })()
    await stopped
  }
}

/** `node services/standalone/dist/server.js`: the whole system in one process. */
export async function startOneProcess (
  backings: Backings,
  options: DeploymentOptions
): Promise<Deployment> {
  const names = namesFor('one-process')
  const secrets = freshSecrets()
  const port = await freePort()
  const base = `http://127.0.0.1:${port}`
  // Both services read MONGO_DB here; their collections do not overlap.
  const databases = [`${names.run}_db`]
  const env = {
    ...commonEnv(backings, names),
    ...secrets,
    PORT: String(port),
    MONGO_DB: databases[0] as string,
    DATA_DIR: join(options.workDir, `${names.run}-data`)
  }

  const processes: BenchProcess[] = []
  const stop = stopper(processes, backings, names, databases)
  try {
    processes.push(await startBenchProcess({
      name: 'twofa',
      script: join(root, 'services/standalone/dist/server.js'),
      env,
      readyUrl: `${base}/readyz`,
      logFile: join(options.workDir, `${names.run}.log`),
      nodeArgs: options.nodeArgs
    }))
  } catch (error) {
    await stop()
    throw error
  }

  return {
    kind: 'one-process',
    urls: { auth: base, users: base, totp: base },
    processes,
    metrics: [{ name: 'twofa', url: `${base}/metrics` }],
    // The services read keys from a JWKS address; seeding checks no token, so none answers.
    serviceEnv: {
      totp: { ...env, JWKS_URL: UNUSED_JWKS },
      user: { ...env, JWKS_URL: UNUSED_JWKS }
    },
    signingKey: secrets.SIGNING_KEY as string,
    quiet: async () => await waitForQuiet(backings.amqpUrl, queuesOf(names)),
    stop
  }
}

/** The user, totp and auth services as three processes, as in production. */
export async function startSeparate (
  backings: Backings,
  options: DeploymentOptions
): Promise<Deployment> {
  const names = namesFor('separate')
  const secrets = freshSecrets()
  const ports = {
    auth: await freePort(),
    user: await freePort(),
    userInternal: await freePort(),
    totp: await freePort(),
    totpInternal: await freePort()
  }
  const url = (port: number): string => `http://127.0.0.1:${port}`
  const databases = [`${names.run}_user`, `${names.run}_totp`]
  const common = {
    ...commonEnv(backings, names),
    INTERNAL_TOKEN: secrets.INTERNAL_TOKEN as string,
    JWKS_URL: `${url(ports.auth)}/.well-known/jwks.json`
  }
  const env = {
    user: {
      ...common,
      PORT: String(ports.user),
      INTERNAL_PORT: String(ports.userInternal),
      MONGO_DB: databases[0] as string
    },
    totp: {
      ...common,
      TOTP_ENCRYPTION_KEYS: secrets.TOTP_ENCRYPTION_KEYS as string,
      TOTP_ENCRYPTION_KEY_ID: secrets.TOTP_ENCRYPTION_KEY_ID as string,
      RECOVERY_CODE_PEPPER: secrets.RECOVERY_CODE_PEPPER as string,
      PORT: String(ports.totp),
      INTERNAL_PORT: String(ports.totpInternal),
      MONGO_DB: databases[1] as string
    },
    auth: {
      ...common,
      PORT: String(ports.auth),
      SIGNING_KEY: secrets.SIGNING_KEY as string,
      USER_SERVICE_URL: url(ports.userInternal),
      TOTP_SERVICE_URL: url(ports.totpInternal)
    }
  }

  const processes: BenchProcess[] = []
  const stop = stopper(processes, backings, names, databases)
  try {
    // The user service first (auth checks it), then totp, then auth.
    for (const name of ['user', 'totp', 'auth'] as const) {
      processes.push(await startBenchProcess({
        name,
        script: join(root, `services/${name}/dist/server.js`),
        env: env[name],
        readyUrl: `${url(ports[name])}/readyz`,
        logFile: join(options.workDir, `${names.run}-${name}.log`),
        nodeArgs: options.nodeArgs
      }))
    }
  } catch (error) {
    await stop()
    throw error
  }

  return {
    kind: 'separate',
    urls: { auth: url(ports.auth), users: url(ports.user), totp: url(ports.totp) },
    processes,
    metrics: (['auth', 'totp', 'user'] as const)
      .map((name) => ({ name, url: `${url(ports[name])}/metrics` })),
    serviceEnv: { totp: env.totp, user: env.user },
    signingKey: secrets.SIGNING_KEY as string,
    quiet: async () => await waitForQuiet(backings.amqpUrl, queuesOf(names)),
    stop
  }
}
