import { randomBytes, randomUUID } from 'node:crypto'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import t, { type Test } from 'tap'
import { Redis } from 'ioredis'
import { pino } from 'pino'
import { AmqpBus, createEnvelope } from '@twofa/events'
import {
  amqpBacking,
  captureEvents,
  deleteAmqpTopology,
  deleteRedisPrefix,
  freePort,
  mongoBacking,
  openMongoTestDatabase,
  present,
  redisBacking,
  runCommand,
  skipWithout,
  startProcess,
  uniqueName,
  waitForOk,
  type CommandResult,
  type EventCapture
} from '@twofa/testing'
import { parseKeyRing, SecretBox, type KeyRing } from '../src/domain/secret-box.js'
import { MongoFactorStore } from '../src/store/mongo-factors.js'
import { RedisVolatileStore } from '../src/store/redis-volatile.js'

const here = dirname(fileURLToPath(import.meta.url))
const ops = join(here, '..', 'dist', 'ops.js')
const userServer = join(here, '..', '..', 'user', 'dist', 'server.js')

const redis = await redisBacking()
const amqp = await amqpBacking()
const mongo = await mongoBacking()
/** Every test that runs a command on the servers needs Redis and RabbitMQ. */
const noServers = skipWithout(redis, amqp)
const noMongo = noServers ||
  ('skip' in mongo && `${mongo.skip}; factors in memory die with the process`)
t.comment('skip' in mongo
  ? 'MongoDB: none, so the tests that read stored factors skip; the others use memory://'
  : 'MongoDB: real server from MONGO_URL')
t.teardown(async () => {
  await Promise.all([redis.stop(), amqp.stop(), 'url' in mongo ? mongo.stop() : undefined])
})

const keys = {
  k1: randomBytes(32).toString('base64'),
  k2: randomBytes(32).toString('base64')
}
const internalToken = randomBytes(32).toString('base64url')

/** Exit code 0; the process's log is shown when it is not. */
function succeeded (t: Test, result: CommandResult): void {
  if (!t.equal(result.code, 0, 'the command exits 0')) t.comment(result.stderr)
}

async function until (what: string, condition: () => boolean): Promise<void> {
  const deadline = Date.now() + 10_000
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`gave up waiting: ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}

function ring (spec: string, current: string): KeyRing {
  return parseKeyRing(spec, current) as KeyRing
}

interface Run {
  env: Record<string, string>
  events: EventCapture
  /** The totp database, when MongoDB is there. */
  factors: MongoFactorStore | null
}

/**
 * Names of this test's own (key prefix, exchange, queues, database), the
 * environment an ops process needs with them, and an ear on the exchange
 * for the events it publishes. Everything is removed when the test ends.
 */
async function setUp (t: Test, eventTypes: string[]): Promise<Run> {
  const run = uniqueName('ops')
  const redisUrl = present(redis).url
  const amqpUrl = present(amqp).url
  const database = 'url' in mongo ? await openMongoTestDatabase(mongo, 'ops') : null
  const factors = database ? await MongoFactorStore.open(database.db) : null
  const events = await captureEvents(amqpUrl, `${run}.events`, eventTypes)
  t.teardown(async () => {
    await events.close()
    await deleteRedisPrefix(redisUrl, `${run}:`)
    await deleteAmqpTopology(amqpUrl, [`${run}.events`, `${run}.events.dlx`],
      [`${run}.totp`, `${run}.totp.dead`, `${run}.user`, `${run}.user.dead`])
    await database?.drop()
  })

  return {
    events,
    factors,
    env: {
      NODE_ENV: 'test',
      INTERNAL_TOKEN: internalToken,
      REDIS_URL: redisUrl,
      REDIS_PREFIX: `${run}:`,
      MONGO_URL: 'url' in mongo ? mongo.url : 'memory://',
      MONGO_DB: database?.db.databaseName ?? 'unused',
      AMQP_URL: amqpUrl,
      AMQP_EXCHANGE: `${run}.events`,
      AMQP_QUEUE_PREFIX: `${run}.`,
      JWKS_URL: 'http://127.0.0.1:9/.well-known/jwks.json',
      TOTP_ENCRYPTION_KEYS: `k1:${keys.k1}`,
      TOTP_ENCRYPTION_KEY_ID: 'k1',
      RECOVERY_CODE_PEPPER: randomBytes(32).toString('base64url')
    }
  }
}

/** Locks a user's second step the way wrong codes do. */
async function lock (env: Record<string, string>, userId: string): Promise<RedisVolatileStore> {
  const { url } = present(redis)
  const state = new RedisVolatileStore(new Redis(url, { keyPrefix: env.REDIS_PREFIX }))
  const policy = { limit: 1, windowSeconds: 60, lockSeconds: 900 }
  const attempt = await state.reserveAccountAttempt(userId, policy)
  if (attempt.status !== 'reserved') throw new Error('could not reserve an attempt')
  await state.recordFailure(userId, attempt.attempt, policy)
  return state
}

/** Stores a confirmed factor whose secret is sealed under `box`'s current key. */
async function storeFactor (
  factors: MongoFactorStore,
  box: SecretBox,
  userId: string
): Promise<Buffer> {
  const secret = randomBytes(20)
  const factorId = randomUUID()
  await factors.create({
    userId,
    factorId,
    secret: box.seal(secret, userId),
    recoveryHashes: [],
    enabledAt: new Date()
  }, createEnvelope('twofactor.enabled', { user_id: userId, factor_id: factorId }))
  return secret
}

/** The user service as a process: ops finds users by email through its internal API. */
async function startUserService (t: Test, env: Record<string, string>): Promise<{
  internal: string
  public: string
  register: (email: string) => Promise<string>
}> {
  const port = await freePort()
  const internalPort = await freePort()
  const service = startProcess('user', userServer, {
    ...env,
    PORT: String(port),
    INTERNAL_PORT: String(internalPort),
    MONGO_URL: 'memory://'
  })
  t.teardown(async () => { await service.stop() })
  await waitForOk(`http://127.0.0.1:${port}/readyz`, 20_000, 'user service')

  return {
    internal: `http://127.0.0.1:${internalPort}`,
    public: `http://127.0.0.1:${port}`,
    register: async (email) => {
      const response = await fetch(`http://127.0.0.1:${port}/api/users`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ email, password: 'a long enough password', name: 'Someone' })
      })
      return ((await response.json()) as { id: string }).id
    }
  }
}

t.test('a configuration with several mistakes is refused with every one listed', async (t) => {
  const result = await runCommand(ops, ['unlock', '--user-id', 'u1'], {
    REDIS_URL: 'http://127.0.0.1:6379',
    TOTP_ENCRYPTION_KEYS: 'k1:c2hvcnQ=',
    TOTP_ENCRYPTION_KEY_ID: 'k1'
  })

  t.equal(result.code, 2)
  for (const name of ['INTERNAL_TOKEN', 'REDIS_URL', 'MONGO_URL', 'AMQP_URL', 'JWKS_URL',
    'RECOVERY_CODE_PEPPER', 'TOTP_ENCRYPTION_KEYS', 'USER_SERVICE_URL']) {
    t.match(result.stderr, new RegExp(`^  ${name}: `, 'm'), `${name} is listed`)
  }
})

t.test('each missing setting is said to be not set, in the same words', async (t) => {
  const result = await runCommand(ops, ['unlock', '--user-id', 'u1'], {})

  t.equal(result.code, 2)
  for (const name of ['INTERNAL_TOKEN', 'REDIS_URL', 'JWKS_URL', 'RECOVERY_CODE_PEPPER',
    'USER_SERVICE_URL']) {
    t.match(result.stderr, new RegExp(`^  ${name}: ${name} is not set`, 'm'), name)
  }
  t.notMatch(result.stderr, 'expected string', 'no type names for a missing value')
})

t.test('a command line mistake is listed together with the settings refused', async (t) => {
  const result = await runCommand(ops, ['unlock'], {
    INTERNAL_TOKEN: internalToken,
    REDIS_URL: 'memory://',
    MONGO_URL: 'memory://',
    AMQP_URL: 'memory://',
    JWKS_URL: 'http://127.0.0.1:9/.well-known/jwks.json',
    USER_SERVICE_URL: 'http://127.0.0.1:9',
    TOTP_ENCRYPTION_KEYS: `k1:${keys.k1}`,
    TOTP_ENCRYPTION_KEY_ID: 'k1',
    RECOVERY_CODE_PEPPER: randomBytes(32).toString('base64url')
  })

  t.equal(result.code, 2)
  t.match(result.stderr, 'unlock: give either --email or --user-id; usage: unlock')
  t.match(result.stderr, /^ {2}REDIS_URL: is memory:\/\//m, 'the stand-in is refused too')
})

t.test('an email that is not one address is refused with the usage', async (t) => {
  const result = await runCommand(ops, ['unlock', '--email', 'alice example.com'], {})

  t.equal(result.code, 2)
  t.match(result.stderr, 'unlock: --email must be one address of the form name@example.com; ' +
    'usage: unlock --email EMAIL | --user-id ID')
  t.match(result.stderr, /^ {2}INTERNAL_TOKEN: /m, 'the settings are reported as well')
})

t.test('an option the command does not take is refused with its usage', async (t) => {
  const result = await runCommand(ops, ['unlock', '--user', 'u1'], {})

  t.equal(result.code, 2)
  t.match(result.stderr, 'unlock: unknown option --user; ')
  t.match(result.stderr, '; usage: unlock --email EMAIL | --user-id ID')
  t.notMatch(result.stderr, 'unexpected argument', 'its value is not taken for another mistake')
})

t.test('a count option out of range is refused with its usage before any work is announced',
  { skip: noServers }, async (t) => {
    const run = await setUp(t, [])

    const result = await runCommand(ops, ['rotate-key', '--batch', '0'], run.env)

    t.equal(result.code, 2)
    t.match(result.stderr, '--batch must be a whole number of at least 1; usage: rotate-key')
    t.equal(result.stdout, '', 'no "re-sealing…" for work that never starts')
  })

t.test('a command refuses the in-memory stand-ins of the servers it works on, ' +
  'naming each setting', { skip: noServers }, async (t) => {
  const run = await setUp(t, ['twofactor.unlocked'])

  const result = await runCommand(ops, ['unlock', '--user-id', 'u1'], {
    ...run.env,
    REDIS_URL: 'memory://',
    AMQP_URL: 'memory://'
  })

  t.equal(result.code, 2)
  t.match(result.stderr, /^totp ops: unlock: refused: an in-memory stand-in would live only/m)
  t.match(result.stderr, /^ {2}REDIS_URL: is memory:\/\/; set it to the server/m)
  t.match(result.stderr, /^ {2}AMQP_URL: is memory:\/\/; set it to the server/m)
  t.notMatch(result.stderr, /^ {2}MONGO_URL/m, 'a server unlock does not use is not named')
  t.equal(result.stdout, '', 'nothing is reported done')
})

t.test('a user service that does not answer is named by its setting and address, ' +
  'without the credential', { skip: noServers }, async (t) => {
  const run = await setUp(t, [])
  const port = await freePort()

  const result = await runCommand(ops, ['unlock', '--email', 'someone@example.com'], {
    ...run.env,
    USER_SERVICE_URL: `http://127.0.0.1:${port}`
  })

  t.equal(result.code, 1)
  t.match(result.stderr, `unlock: the user service at USER_SERVICE_URL=http://127.0.0.1:${port} ` +
      'did not answer (ECONNREFUSED)')
  t.notMatch(result.stderr, internalToken, 'the service credential is not shown')
})

t.test('a 404 that is not the user service\'s "no such user" is reported as unexpected, ' +
  'not as a missing user', { skip: noServers }, async (t) => {
  const run = await setUp(t, ['twofactor.unlocked'])
  const users = await startUserService(t, run.env)
  await users.register('alice@example.com')

  const result = await runCommand(ops, ['unlock', '--email', 'alice@example.com'], {
    ...run.env,
    USER_SERVICE_URL: users.public
  })

  t.equal(result.code, 1)
  t.match(result.stderr, `unlock: the user service at USER_SERVICE_URL=${users.public} ` +
    'answered something unexpected (404 not_found): is the address its internal port?')
  t.notMatch(result.stderr, 'no user has')
  t.equal(result.stdout, '')
})

t.test('an email no account has is reported as no such user', { skip: noServers }, async (t) => {
  const run = await setUp(t, ['twofactor.unlocked'])
  const users = await startUserService(t, run.env)

  const result = await runCommand(ops, ['unlock', '--email', 'nobody@example.com'], {
    ...run.env,
    USER_SERVICE_URL: users.internal
  })

  t.equal(result.code, 1)
  t.match(result.stderr, 'unlock: no user has the email nobody@example.com')
})

for (const command of ['unlock', 'disable-2fa']) {
  t.test(`${command} refuses a user id no account has, and logs and publishes nothing`,
    { skip: command === 'unlock' ? noServers : noMongo }, async (t) => {
      const run = await setUp(t, ['twofactor.unlocked', 'twofactor.disabled'])
      const users = await startUserService(t, run.env)

      const result = await runCommand(ops, [command, '--user-id', 'no-such-user-123'], {
        ...run.env,
        USER_SERVICE_URL: users.internal
      })

      t.equal(result.code, 1)
      t.match(result.stderr, `${command}: no user has the id no-such-user-123`)
      t.equal(result.stdout, '', 'nothing is reported done')
      t.notMatch(result.stderr, /"msg":"(2fa lock lifted|event published)"/)
      await t.rejects(run.events.take('twofactor.unlocked', 300), 'no twofactor.unlocked')
      await t.rejects(run.events.take('twofactor.disabled', 300), 'no twofactor.disabled')
    })
}

t.test('unlock neither connects to nor warns about MongoDB, which it does not use',
  { skip: noServers }, async (t) => {
    const run = await setUp(t, ['twofactor.unlocked'])
    const users = await startUserService(t, run.env)
    const userId = await users.register('bob@example.com')
    const env = { ...run.env, USER_SERVICE_URL: users.internal }

    const unreachable = await runCommand(ops, ['unlock', '--user-id', userId], {
      ...env,
      MONGO_URL: `mongodb://127.0.0.1:${await freePort()}/`
    })
    const standIn = await runCommand(ops, ['unlock', '--user-id', userId], {
      ...env,
      MONGO_URL: 'memory://'
    })

    succeeded(t, unreachable)
    succeeded(t, standIn)
    t.notMatch(unreachable.stderr + standIn.stderr, /MongoDB/)
  })

t.test('unlock lifts the lock on a user found by email and publishes twofactor.unlocked',
  { skip: noServers }, async (t) => {
    const run = await setUp(t, ['twofactor.unlocked'])
    const users = await startUserService(t, run.env)
    const userId = await users.register('locked@example.com')
    const state = await lock(run.env, userId)
    t.teardown(async () => { await state.close() })
    t.ok(await state.lockedForMs(userId) > 0, 'locked before')

    const result = await runCommand(ops, ['unlock', '--email', 'Locked@Example.com'], {
      ...run.env,
      USER_SERVICE_URL: users.internal
    })

    succeeded(t, result)
    t.match(result.stdout, new RegExp(`^unlocked user ${userId} \\(the lock had \\d+ s left\\)`))
    t.equal(await state.lockedForMs(userId), 0, 'not locked after')
    t.match(await run.events.take('twofactor.unlocked'), {
      data: { user_id: userId, actor_id: 'ops' }
    })
    t.match(result.stderr, /"msg":"2fa lock lifted"/, 'the action is logged')
  })

t.test('disable-2fa removes the factor and publishes twofactor.disabled', { skip: noMongo },
  async (t) => {
    const run = await setUp(t, ['twofactor.disabled'])
    const users = await startUserService(t, run.env)
    const userId = await users.register('lost-device@example.com')
    const factors = run.factors as MongoFactorStore
    await storeFactor(factors, new SecretBox(ring(`k1:${keys.k1}`, 'k1')), userId)

    const result = await runCommand(ops, ['disable-2fa', '--user-id', userId], {
      ...run.env,
      USER_SERVICE_URL: users.internal
    })

    succeeded(t, result)
    t.match(result.stdout, `2FA is off for user ${userId}`)
    t.equal(await factors.get(userId), null, 'the factor is gone')
    t.match(await run.events.take('twofactor.disabled'), {
      data: { user_id: userId, reason: 'admin', actor_id: 'ops' }
    })
  })

t.test('rotate-key re-seals secrets under the current key and leaves those already under it',
  { skip: noMongo }, async (t) => {
    const run = await setUp(t, ['ops.key_rotated'])
    const factors = run.factors as MongoFactorStore
    const both = `k1:${keys.k1},k2:${keys.k2}`
    const secrets = new Map<string, Buffer>()
    for (const id of ['a', 'b', 'c']) {
      secrets.set(id, await storeFactor(factors, new SecretBox(ring(both, 'k1')), id))
    }
    for (const id of ['d', 'e']) {
      secrets.set(id, await storeFactor(factors, new SecretBox(ring(both, 'k2')), id))
    }
    const env = { ...run.env, TOTP_ENCRYPTION_KEYS: both, TOTP_ENCRYPTION_KEY_ID: 'k2' }

    const result = await runCommand(ops, ['rotate-key', '--batch', '2'], env)

    succeeded(t, result)
    t.match(result.stdout, /^2 looked at: 2 re-sealed, 0 already under "k2".*last user id b\)$/m)
    t.match(result.stdout,
      /^done: 5 looked at: 3 re-sealed, 2 already under "k2", 0 changed meanwhile, 0 failed/m)
    const box = new SecretBox(ring(both, 'k2'))
    for (const [id, secret] of secrets) {
      const factor = await factors.get(id)
      t.equal(factor?.secret.kid, 'k2', `${id} is under k2`)
      t.same(factor && box.open(factor.secret, id), secret, `${id} still opens to its secret`)
    }
    t.match(await run.events.take('ops.key_rotated'), {
      data: { key_id: 'k2', resealed: 3, already_current: 2, skipped: 0, failed: 0 }
    })

    const again = await runCommand(ops, ['rotate-key'], env)
    t.match(again.stdout, /^done: 5 looked at: 0 re-sealed, 5 already under "k2"/m,
      'a second run finds nothing left to do')
  })

t.test('rotate-key reports a secret that no configured key opens and exits 1',
  { skip: noMongo }, async (t) => {
    const run = await setUp(t, [])
    const factors = run.factors as MongoFactorStore
    await storeFactor(factors, new SecretBox(ring(`k2:${keys.k2}`, 'k2')), 'lost')

    const result = await runCommand(ops, ['rotate-key'], run.env)

    t.equal(result.code, 1)
    t.match(result.stdout, /^done: 1 looked at: 0 re-sealed, 0 already under "k1".* 1 failed/m)
    t.equal((await factors.get('lost'))?.secret.kid, 'k2', 'the secret is left as it was')
  })

t.test('replay-dead-letters gives the totp consumer its dead-lettered events again',
  { skip: noServers }, async (t) => {
    const run = await setUp(t, ['ops.dead_letters_replayed'])
    const settings = {
      url: present(amqp).url,
      exchange: run.env.AMQP_EXCHANGE as string,
      queuePrefix: run.env.AMQP_QUEUE_PREFIX as string
    }
    const silent = pino({ level: 'silent' })
    const event = createEnvelope('user.deleted', { user_id: 'gone' })
    // A totp consumer whose handler fails sends the event to its dead letters.
    const broken = await AmqpBus.connect(settings, silent)
    let failures = 0
    await broken.subscribe({
      consumer: 'totp',
      types: ['user.deleted'],
      handler: async () => { failures++; throw new Error('handler is broken') }
    })
    await broken.publish(event)
    await until('the event to be dead-lettered', () => failures === 2)
    await broken.close()

    const result = await runCommand(ops, ['replay-dead-letters'], run.env)

    succeeded(t, result)
    t.match(result.stdout, `done: 1 replayed from ${settings.queuePrefix}totp.dead, 0 left there`)
    t.match(await run.events.take('ops.dead_letters_replayed'), {
      data: { consumer: 'totp', replayed: 1, left: 0 }
    })
    const mended = await AmqpBus.connect(settings, silent)
    t.teardown(async () => { await mended.close() })
    const received: unknown[] = []
    await mended.subscribe({
      consumer: 'totp',
      types: ['user.deleted'],
      handler: async (delivered) => { received.push(delivered) }
    })
    await until('the replayed event to arrive', () => received.length === 1)
    t.same(received, [event], 'the consumer gets the event again')
  })
