import { generateKeyPairSync, randomBytes } from 'node:crypto'
import { join } from 'node:path'
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
import { repositoryRoot } from './browser.js'
import type { Person } from './walk.js'

export interface RunningServices {
  /** The public ports, for the gateway's upstreams. */
  ports: { auth: number, totp: number, user: number }
  processes: ServiceProcess[]
}

/**
 * auth, totp and user as three processes on real Redis and RabbitMQ (and
 * MongoDB when MONGO_URL names one, else each service's in-memory store),
 * under names no other run uses; all stopped and cleaned up when the test
 * ends. auth trusts a proxy on loopback for client addresses, as it trusts
 * the gateway in a deployment.
 */
export async function startServices (t: Test, admin: Person): Promise<RunningServices> {
  const redis = await redisBacking()
  const amqp = await amqpBacking()
  const mongo = await mongoBacking()
  const mongoUrl = 'url' in mongo ? mongo.url : 'memory://'
  t.comment('url' in mongo ? 'MongoDB: MONGO_URL' : `MongoDB: in-memory stores (${mongo.skip})`)

  const run = uniqueName('web')
  const names = {
    prefix: `${run}:`,
    exchange: `${run}.events`,
    queuePrefix: `${run}.`,
    userDb: `${run}_user`,
    totpDb: `${run}_totp`
  }
  const ports = {
    auth: await freePort(),
    user: await freePort(),
    userInternal: await freePort(),
    totp: await freePort(),
    totpInternal: await freePort()
  }
  const common = {
    NODE_ENV: 'test',
    LOG_LEVEL: 'info',
    INTERNAL_TOKEN: randomBytes(32).toString('base64url'),
    AMQP_URL: amqp.url,
    AMQP_EXCHANGE: names.exchange,
    AMQP_QUEUE_PREFIX: names.queuePrefix,
    JWKS_URL: `http://127.0.0.1:${ports.auth}/.well-known/jwks.json`
  }

  const processes: ServiceProcess[] = []
  t.teardown(async () => {
    for (const service of [...processes].reverse()) await service.stop()
    await deleteRedisPrefix(redis.url, names.prefix)
    await deleteAmqpTopology(
      amqp.url,
      [names.exchange, `${names.exchange}.dlx`],
      ['totp', 'user'].flatMap((c) => [`${names.queuePrefix}${c}`, `${names.queuePrefix}${c}.dead`])
    )
    if ('url' in mongo) await dropMongoDatabases(mongo.url, [names.userDb, names.totpDb])
    await Promise.all([redis.stop(), amqp.stop(), 'url' in mongo ? mongo.stop() : undefined])
  })

  const script = (service: string) => join(repositoryRoot, `services/${service}/dist/server.js`)
  processes.push(startProcess('user', script('user'), {
    ...common,
    PORT: String(ports.user),
    INTERNAL_PORT: String(ports.userInternal),
    MONGO_URL: mongoUrl,
    MONGO_DB: names.userDb,
    ADMIN_EMAIL: admin.email,
    ADMIN_PASSWORD: admin.password
  }))
  processes.push(startProcess('totp', script('totp'), {
    ...common,
    PORT: String(ports.totp),
    INTERNAL_PORT: String(ports.totpInternal),
    REDIS_URL: redis.url,
    REDIS_PREFIX: names.prefix,
    MONGO_URL: mongoUrl,
    MONGO_DB: names.totpDb,
    TOTP_ENCRYPTION_KEYS: `k1:${randomBytes(32).toString('base64')}`,
    TOTP_ENCRYPTION_KEY_ID: 'k1',
    RECOVERY_CODE_PEPPER: randomBytes(32).toString('base64url')
  }))
  processes.push(startProcess('auth', script('auth'), {
    ...common,
    PORT: String(ports.auth),
    USER_SERVICE_URL: `http://127.0.0.1:${ports.userInternal}`,
    TOTP_SERVICE_URL: `http://127.0.0.1:${ports.totpInternal}`,
    SIGNING_KEY: generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey
      .export({ type: 'pkcs8', format: 'pem' })
      .toString(),
    REDIS_URL: redis.url,
    REDIS_PREFIX: names.prefix,
    TRUST_PROXY: 'loopback'
  }))

  try {
    for (const service of ['user', 'totp', 'auth'] as const) {
      await waitForOk(`http://127.0.0.1:${ports[service]}/readyz`, 20_000, `the ${service} service`)
    }
  } catch (error) {
    for (const service of processes) t.comment(`--- ${service.name} ---\n${service.output()}`)
    throw error
  }
  return { ports: { auth: ports.auth, totp: ports.totp, user: ports.user }, processes }
}
