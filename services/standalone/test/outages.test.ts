import t, { type Test } from 'tap'
import {
  clusterBackings,
  deleteQueue,
  flushRedisScripts,
  openTcpLink,
  publishRaw,
  startCluster,
  type Cluster,
  type TcpLink
} from '@twofa/testing'
import { challenge, enrolled, eventually, signedUp, startOfStep, verify } from './flows.js'

const backings = await clusterBackings()
t.teardown(backings.stop)

/** Every service: no rate limit in the way, and admin routes without a second factor. */
const SETTINGS = {
  RATE_LIMIT_PER_MINUTE: '0',
  REGISTRATION_RATE_PER_MINUTE: '0',
  ADMIN_REQUIRE_2FA: 'false'
}

/**
 * A cluster whose services reach Redis or RabbitMQ through a link the test
 * can cut, while the server itself stays up for everyone else.
 */
async function clusterBehindLink (
  t: Test,
  server: 'redisUrl' | 'amqpUrl'
): Promise<{ cluster: Cluster, link: TcpLink }> {
  let link: TcpLink | null = null
  t.teardown(async () => { await link?.cut() })
  const cluster = await startCluster(t, backings, {
    env: SETTINGS,
    [server]: async (real: string) => {
      link = await openTcpLink(real)
      return link.url
    }
  })
  return { cluster, link: link as unknown as TcpLink }
}

t.test('Redis stops mid-run: sign-in and verify fail fast with 503, ' +
  'and recover when it returns', { skip: backings.skip }, async (t) => {
  const { cluster, link: redisLink } = await clusterBehindLink(t, 'redisUrl')
  const step = await startOfStep()
  const user = await enrolled(cluster, 'redis-down@example.com', step)
  const temp = await challenge(cluster, 'redis-down@example.com')

  await redisLink.cut()

  const verifying = await verify(cluster, { temp_token: temp, totp_code: user.codeAt(step) })
  t.equal(verifying.status, 503, 'verify answers 503')
  t.ok(verifying.ms < 5000, `within 5 s (${verifying.ms} ms)`)
  t.notOk(verifying.body.token, 'and issues no token')

  const signingIn = await cluster.call(`${cluster.auth[0] as string}/api/sso/token`, {
    body: { email: 'redis-down@example.com', password: 'a long enough password' }
  })
  t.equal(signingIn.status, 503, 'sign-in answers 503')
  t.ok(signingIn.ms < 5000, `within 5 s (${signingIn.ms} ms)`)
  t.notOk(signingIn.body.token ?? signingIn.body.temp_token)

  const ready = await cluster.call(`${cluster.totp[0] as string}/readyz`)
  t.same([ready.status, ready.body.checks.redis], [503, 'unavailable'], 'readiness says so')

  await redisLink.open()
  const totpReady = async () =>
    (await cluster.call(`${cluster.totp[0] as string}/readyz`)).status === 200
  await eventually(totpReady, 'the totp service to be ready again')

  const again = await verify(cluster, {
    temp_token: await challenge(cluster, 'redis-down@example.com'),
    totp_code: user.codeAt(step)
  })
  t.equal(again.status, 200, 'the same processes work again, no restart')
})

t.test('a Lua script flushed from Redis is loaded again', { skip: backings.skip }, async (t) => {
  const cluster = await startCluster(t, backings, { env: SETTINGS })
  const step = await startOfStep()
  const user = await enrolled(cluster, 'flush@example.com', step)

  await flushRedisScripts(cluster.redisUrl)
  const answer = await verify(cluster, {
    temp_token: await challenge(cluster, 'flush@example.com'),
    totp_code: user.codeAt(step)
  })
  t.equal(answer.status, 200)
})

t.test('RabbitMQ goes away: requests do not wait for it, ' +
  'and the events made meanwhile arrive once it is back', { skip: backings.skip }, async (t) => {
  const { cluster, link: brokerLink } = await clusterBehindLink(t, 'amqpUrl')
  const step = await startOfStep()
  const { token } = await signedUp(cluster, 'broker-down@example.com')
  const totp = cluster.totp[0] as string

  await brokerLink.cut()
  const setup = await cluster.call(`${totp}/api/2fa/setup`, { method: 'POST', token })
  const { authenticatorCode } = await import('@twofa/testing')
  const enabled = await cluster.call(`${totp}/api/2fa/enable`, {
    body: { totp_code: authenticatorCode(setup.body.secret, (step - 1) * 30) },
    token
  })
  t.equal(enabled.status, 200, '2FA turns on while the broker is away')
  t.ok(enabled.ms < 2000, `without waiting for the broker (${enabled.ms} ms)`)

  await new Promise((resolve) => setTimeout(resolve, 1000))
  const meanwhile = await cluster.call(`${cluster.user}/api/users/me`, { token })
  t.equal(meanwhile.body.two_factor_enabled, false, 'the event has not arrived')

  if (cluster.durable) {
    // The event is in MongoDB now; the process that wrote it dies without a word.
    cluster.processes.get('totp')?.child.kill('SIGKILL')
    await new Promise((resolve) => setTimeout(resolve, 300))
  }
  await brokerLink.open()
  if (cluster.durable) await cluster.restart('totp')
  else t.comment('MongoDB is the in-memory store here: the crash half of this test needs MONGO_URL')

  await eventually(async () => (await cluster.call(`${cluster.user}/api/users/me`, { token }))
    .body.two_factor_enabled === true, 'the profile flag to catch up')
  t.pass(cluster.durable
    ? 'the event outlived the SIGKILL and arrived after the restart'
    : 'the event arrived once the broker was back')
})

t.test('a duplicate or stale event changes nothing twice', { skip: backings.skip }, async (t) => {
  const cluster = await startCluster(t, backings, { env: SETTINGS })
  const { id, token } = await signedUp(cluster, 'dupes@example.com')
  const flag = async () =>
    (await cluster.call(`${cluster.user}/api/users/me`, { token })).body.two_factor_enabled

  const at = (seconds: number) => new Date(Date.now() + seconds * 1000).toISOString()
  const enabled = {
    id: 'e-1',
    type: 'twofactor.enabled',
    occurred_at: at(1),
    data: { user_id: id, factor_id: 'f1' }
  }
  const disabled = {
    id: 'd-1',
    type: 'twofactor.disabled',
    occurred_at: at(2),
    data: { user_id: id, factor_id: 'f1', reason: 'admin', actor_id: null }
  }

  await publishRaw(cluster.amqpUrl, cluster.exchange, enabled)
  await eventually(async () => await flag() === true, 'the flag to turn on')
  await publishRaw(cluster.amqpUrl, cluster.exchange, disabled)
  await eventually(async () => await flag() === false, 'the flag to turn off')

  // The first event again (a redelivery), and an older one with a new id.
  await publishRaw(cluster.amqpUrl, cluster.exchange, enabled)
  await publishRaw(cluster.amqpUrl, cluster.exchange, { ...enabled, id: 'e-0', occurred_at: at(0) })
  await new Promise((resolve) => setTimeout(resolve, 1500))
  t.equal(await flag(), false, 'neither turns the flag back on')
})

t.test('a consumer whose queue is deleted under it ' +
  'declares it again and keeps consuming', { skip: backings.skip }, async (t) => {
  const cluster = await startCluster(t, backings, { env: SETTINGS })
  const { id, token } = await signedUp(cluster, 'requeue@example.com')

  await deleteQueue(cluster.amqpUrl, `${cluster.queuePrefix}user`)
  await new Promise((resolve) => setTimeout(resolve, 1000))

  const event = {
    id: 'after-delete',
    type: 'twofactor.enabled',
    occurred_at: new Date().toISOString(),
    data: { user_id: id, factor_id: 'f9' }
  }
  await publishRaw(cluster.amqpUrl, cluster.exchange, event)
  await eventually(async () => (await cluster.call(`${cluster.user}/api/users/me`, { token }))
    .body.two_factor_enabled === true, 'the event to be consumed from the new queue')
  t.pass('consumed again')
})
