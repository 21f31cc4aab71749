import { randomBytes } from 'node:crypto'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import t, { type Test } from 'tap'
import {
  amqpBacking,
  captureEvents,
  deleteAmqpTopology,
  mongoBacking,
  openMongoTestDatabase,
  present,
  runCommand,
  skipWithout,
  uniqueName,
  type CommandResult,
  type EventCapture
} from '@twofa/testing'
import { EMAIL_PROBLEMS } from '../src/domain/emails.js'
import { createUsers } from '../src/domain/users.js'
import { MongoUserStore } from '../src/store/mongo-users.js'

const ops = join(dirname(fileURLToPath(import.meta.url)), '..', 'dist', 'ops.js')
const PASSWORD = 'a password for the admin'
const silentLog = { info: () => {}, warn: () => {}, error: () => {} }

const amqp = await amqpBacking()
const mongo = await mongoBacking()
/** Every test that runs a command on the servers needs RabbitMQ. */
const noAmqp = skipWithout(amqp)
const noMongo = noAmqp ||
  ('skip' in mongo && `${mongo.skip}; users in memory die with the process`)
t.comment('skip' in mongo
  ? 'MongoDB: none, so the tests that read stored users skip; the others use memory://'
  : 'MongoDB: real server from MONGO_URL')
t.teardown(async () => {
  await Promise.all([amqp.stop(), 'url' in mongo ? mongo.stop() : undefined])
})

interface Run {
  env: Record<string, string>
  events: EventCapture
  store: MongoUserStore | null
}

/** Names of the test's own, the environment of an ops process, an ear on the exchange. */
async function setUp (t: Test, eventTypes: string[]): Promise<Run> {
  const run = uniqueName('user_ops')
  const amqpUrl = present(amqp).url
  const database = 'url' in mongo ? await openMongoTestDatabase(mongo, 'user_ops') : null
  const store = database ? await MongoUserStore.open(database.db) : null
  const events = await captureEvents(amqpUrl, `${run}.events`, eventTypes)
  t.teardown(async () => {
    await events.close()
    await deleteAmqpTopology(amqpUrl, [`${run}.events`, `${run}.events.dlx`], [])
    await database?.drop()
  })

  return {
    events,
    store,
    env: {
      NODE_ENV: 'test',
      INTERNAL_TOKEN: randomBytes(32).toString('base64url'),
      MONGO_URL: 'url' in mongo ? mongo.url : 'memory://',
      MONGO_DB: database?.db.databaseName ?? 'unused',
      AMQP_URL: amqpUrl,
      AMQP_EXCHANGE: `${run}.events`,
      AMQP_QUEUE_PREFIX: `${run}.`,
      JWKS_URL: 'http://127.0.0.1:9/.well-known/jwks.json'
    }
  }
}

function succeeded (t: Test, result: CommandResult): void {
  if (!t.equal(result.code, 0, 'the command exits 0')) t.comment(result.stderr)
}

t.test('create-admin creates an admin with the password from standard input',
  { skip: noMongo }, async (t) => {
    const run = await setUp(t, ['user.admin_granted'])
    const store = run.store as MongoUserStore

    const result = await runCommand(ops, ['create-admin', '--email', 'boss@example.com'],
      run.env, { input: `${PASSWORD}\n` })

    succeeded(t, result)
    const admin = await store.findByEmail('boss@example.com')
    t.same(admin?.roles, ['user', 'admin'])
    t.match(result.stdout, `created admin boss@example.com (user ${admin?.id})`)
    const users = createUsers({ store, registrationEnabled: true })
    t.ok(await users.verifyCredentials('boss@example.com', PASSWORD), 'the password signs in')
    t.match(await run.events.take('user.admin_granted'), {
      data: { user_id: admin?.id, created: true }
    })
    t.notMatch(result.stderr, PASSWORD, 'the password is not logged')
  })

t.test('create-admin gives an existing account the admin role and keeps its password',
  { skip: noMongo }, async (t) => {
    const run = await setUp(t, ['user.admin_granted'])
    const store = run.store as MongoUserStore
    const users = createUsers({ store, registrationEnabled: true })
    const existing = await users.register('staff@example.com', PASSWORD, 'Staff', silentLog)

    const result = await runCommand(ops, ['create-admin', '--email', 'staff@example.com'], run.env)

    succeeded(t, result)
    t.match(result.stdout, `staff@example.com (user ${existing.id}) is now an admin`)
    t.same((await store.findById(existing.id))?.roles, ['user', 'admin'])
    t.ok(await users.verifyCredentials('staff@example.com', PASSWORD), 'the password is the same')
    t.match(await run.events.take('user.admin_granted'), {
      data: { user_id: existing.id, created: false }
    })
  })

t.test('create-admin refuses in-memory stand-ins for MongoDB and RabbitMQ, naming each setting',
  { skip: noAmqp }, async (t) => {
    const run = await setUp(t, ['user.admin_granted'])

    const result = await runCommand(ops, ['create-admin', '--email', 'root@example.com'],
      { ...run.env, MONGO_URL: 'memory://', AMQP_URL: 'memory://' }, { input: `${PASSWORD}\n` })

    t.equal(result.code, 2)
    t.match(result.stderr, /^user ops: create-admin: refused: an in-memory stand-in would live/m)
    t.match(result.stderr, /^ {2}MONGO_URL: is memory:\/\/; set it to the server/m)
    t.match(result.stderr, /^ {2}AMQP_URL: is memory:\/\/; set it to the server/m)
    t.notMatch(result.stdout, 'created admin', 'no admin is reported made')
  })

t.test('create-admin refuses a password shorter than 12 characters', { skip: noMongo },
  async (t) => {
    const run = await setUp(t, [])

    const result = await runCommand(ops, ['create-admin', '--email', 'boss@example.com'],
      run.env, { input: 'short\n' })

    t.equal(result.code, 2)
    t.match(result.stderr, 'the password must have 12 to 128 characters')
  })

t.test('create-admin refuses an email that sign-up would refuse, saying why',
  { skip: noMongo }, async (t) => {
    const run = await setUp(t, [])

    const result = await runCommand(ops, ['create-admin', '--email', 'boss@example.com.'],
      run.env, { input: `${PASSWORD}\n` })

    t.equal(result.code, 2)
    t.match(result.stderr, `--email: ${EMAIL_PROBLEMS.domain.replace(/\.$/, '')}; usage:`)
  })

t.test('ADMIN_EMAIL is checked with the sign-up rule, ' +
  'and the reason is listed', { skip: noAmqp }, async (t) => {
  const run = await setUp(t, [])

  const result = await runCommand(ops, ['create-admin', '--email', 'boss@example.com'], {
    ...run.env,
    ADMIN_EMAIL: 'ali\u200bce@example.com',
    ADMIN_PASSWORD: PASSWORD
  })

  t.equal(result.code, 2)
  t.match(result.stderr, `  ADMIN_EMAIL: ${EMAIL_PROBLEMS.invisible}`)
})

t.test('a configuration with several mistakes is refused with every one listed', async (t) => {
  const result = await runCommand(ops, ['create-admin', '--email', 'boss@example.com'], {
    MONGO_URL: 'memory://',
    ADMIN_EMAIL: 'not an email'
  })

  t.equal(result.code, 2)
  for (const name of ['INTERNAL_TOKEN', 'AMQP_URL', 'JWKS_URL', 'ADMIN_EMAIL', 'ADMIN_PASSWORD']) {
    t.match(result.stderr, new RegExp(`^  ${name}: `, 'm'), `${name} is listed`)
  }
})

t.test('an email sign-up would refuse is listed together with the settings refused',
  async (t) => {
    const result = await runCommand(ops, ['create-admin', '--email', 'bad email'], {
      INTERNAL_TOKEN: randomBytes(32).toString('base64url'),
      MONGO_URL: 'memory://',
      AMQP_URL: 'memory://',
      JWKS_URL: 'http://127.0.0.1:9/.well-known/jwks.json'
    }, { input: `${PASSWORD}\n` })

    t.equal(result.code, 2)
    t.match(result.stderr, `create-admin: --email: ${EMAIL_PROBLEMS.invisible.replace(/\.$/, '')}`)
    t.match(result.stderr, /^ {2}MONGO_URL: is memory:\/\//m, 'the stand-ins are refused too')
    t.match(result.stderr, /^ {2}AMQP_URL: is memory:\/\//m)
  })
