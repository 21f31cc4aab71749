import { randomBytes } from 'node:crypto'
import net from 'node:net'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import t, { type Test } from 'tap'
import {
  amqpBacking,
  deleteAmqpTopology,
  freePort,
  present,
  skipWithout,
  startProcess,
  uniqueName,
  waitForOk,
  type ServiceProcess
} from '@twofa/testing'

const server = join(dirname(fileURLToPath(import.meta.url)), '..', 'dist', 'server.js')
const amqp = await amqpBacking()
const noAmqp = skipWithout(amqp)
t.teardown(async () => { await amqp.stop() })

interface Running {
  service: ServiceProcess
  base: string
  port: number
  exited: Promise<number | null>
}

/**
 * The user service as a process on real RabbitMQ unless `env` says
 * otherwise (users in its in-memory store, which this test does not need to
 * outlive the process).
 */
async function startUserService (t: Test, env: Record<string, string> = {}): Promise<Running> {
  const run = uniqueName('shutdown')
  const amqpUrl = env.AMQP_URL ?? present(amqp).url
  const port = await freePort()
  const service = startProcess('user', server, {
    NODE_ENV: 'test',
    PORT: String(port),
    INTERNAL_PORT: String(await freePort()),
    INTERNAL_TOKEN: randomBytes(32).toString('base64url'),
    MONGO_URL: 'memory://',
    AMQP_URL: amqpUrl,
    AMQP_EXCHANGE: `${run}.events`,
    AMQP_QUEUE_PREFIX: `${run}.`,
    JWKS_URL: 'http://127.0.0.1:9/.well-known/jwks.json',
    ...env
  })
  const exited = new Promise<number | null>((resolve) => {
    service.child.once('exit', (code) => resolve(code))
  })
  t.teardown(async () => {
    await service.stop()
    if (amqpUrl === 'memory://') return
    await deleteAmqpTopology(amqpUrl, [`${run}.events`, `${run}.events.dlx`],
      [`${run}.user`, `${run}.user.dead`])
  })

  const base = `http://127.0.0.1:${port}`
  try {
    await waitForOk(`${base}/readyz`, 20_000, 'user service')
  } catch (error) {
    t.comment(service.output())
    throw error
  }
  return { service, base, port, exited }
}

/** Resolves with the status line and body of the one answer on a raw connection. */
function answerOn (socket: net.Socket): Promise<{ status: number, body: string }> {
  return new Promise((resolve, reject) => {
    let text = ''
    socket.on('data', (chunk) => { text += chunk.toString('utf8') })
    socket.on('error', reject)
    socket.on('close', () => {
      const [head = '', body = ''] = text.split('\r\n\r\n')
      resolve({ status: Number(head.split(' ')[1]), body })
    })
  })
}

async function refusesConnections (port: number): Promise<boolean> {
  return await new Promise((resolve) => {
    const probe = net.connect(port, '127.0.0.1')
    probe.once('connect', () => { probe.destroy(); resolve(false) })
    probe.once('error', () => resolve(true))
  })
}

async function until (what: string, condition: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + 5000
  while (!await condition()) {
    if (Date.now() > deadline) throw new Error(`gave up waiting: ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 25))
  }
}

t.test('on SIGTERM a request in flight gets its normal answer and the process exits 0',
  { skip: noAmqp }, async (t) => {
    const { service, base, port, exited } = await startUserService(t, {
      SHUTDOWN_DELAY_SECONDS: '1'
    })
    const body = JSON.stringify({
      email: 'slow@example.com',
      password: 'a long enough password',
      name: 'Slow'
    })
    const half = Math.floor(body.length / 2)

    // Headers and half of the body now, the rest once shutdown is under way.
    const socket = net.connect(port, '127.0.0.1')
    await new Promise((resolve) => socket.once('connect', resolve))
    const answer = answerOn(socket)
    socket.write('POST /api/users HTTP/1.1\r\nhost: 127.0.0.1\r\n' +
      `content-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\n` +
      `connection: close\r\n\r\n${body.slice(0, half)}`)
    await new Promise((resolve) => setTimeout(resolve, 100))
    const signalled = Date.now()
    service.child.kill('SIGTERM')

    // The signal arrives when it arrives: ask until readiness turns.
    let ready = { status: 0, body: {} as unknown }
    await until('/readyz to answer 503', async () => {
      const response = await fetch(`${base}/readyz`)
      ready = { status: response.status, body: await response.json() }
      return response.status !== 200
    })
    t.equal(ready.status, 503, '/readyz answers 503 while the process drains')
    t.match(ready.body, { status: 'not_ready', shutting_down: true })

    await until('the listener to close', async () => await refusesConnections(port))
    t.pass('new connections are refused once the drain delay is over')

    socket.write(body.slice(half))
    const { status, body: text } = await answer
    t.equal(status, 201, 'the request begun before SIGTERM was answered normally')
    t.match(JSON.parse(text), { email: 'slow@example.com', roles: ['user'] })

    t.equal(await exited, 0, 'the process exited 0')
    t.ok(Date.now() - signalled < 10_000, `and within the bound (${Date.now() - signalled} ms)`)
    t.match(service.output(), /"msg":"stopped"/)
    t.notMatch(service.output(), /"level":"error"/, 'the deliberate 503 is not logged as an error')
    t.match(service.output(), /"level":"info".*"msg":"not ready: shutting down"/)
  })

t.test('/readyz lists each dependency on an in-memory stand-in as "memory"', async (t) => {
  const { base } = await startUserService(t, { AMQP_URL: 'memory://' })

  const response = await fetch(`${base}/readyz`)

  t.equal(response.status, 200)
  t.same((await response.json() as { checks: unknown }).checks,
    { mongodb: 'memory', rabbitmq: 'memory' })
})

t.test('the public port serves Prometheus metrics', { skip: noAmqp }, async (t) => {
  const { base } = await startUserService(t)
  await fetch(`${base}/api/users/me`)

  const response = await fetch(`${base}/metrics`)
  const text = await response.text()

  t.equal(response.status, 200)
  t.match(text, /^process_resident_memory_bytes \d+/m)
  t.match(text,
    /^twofa_http_refusals_total\{route="\/api\/users\/me",status="401",error="unauthorized"\} 1$/m)
})
