import { spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { mkdtempSync, rmSync } from 'node:fs'
import net, { type AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t, { type Test } from 'tap'
import { Redis } from 'ioredis'
import {
  LogCapture,
  present,
  programMissing,
  redisBacking,
  skipWithout,
  uniqueName
} from '@twofa/testing'
import { createLogger } from '../src/logger.js'
import { connectRedis, redisTarget } from '../src/redis.js'

const redis = await redisBacking()
const noRedis = skipWithout(redis)
t.teardown(redis.stop)
/** The outage tests start and stop a redis-server of their own. */
const noRedisServer = programMissing('redis-server', 'apt-get install -y redis-server')

async function freePort (): Promise<number> {
  const server = net.createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  await new Promise((resolve) => server.close(resolve))
  return port
}

/**
 * A redis-server of the test's own on a loopback port, so the test can take
 * it away without touching the machine's Redis. Stopped by its PID.
 */
class OwnRedis {
  private process: ChildProcess | null = null
  private readonly dir = mkdtempSync(join(tmpdir(), 'kit-redis-'))

  constructor (readonly port: number) {}

  get url (): string {
    return `redis://127.0.0.1:${this.port}`
  }

  async start (): Promise<void> {
    const child = spawn('redis-server', [
      '--port', String(this.port),
      '--bind', '127.0.0.1',
      '--save', '',
      '--appendonly', 'no',
      '--dir', this.dir
    ], { stdio: ['ignore', 'pipe', 'inherit'] })
    this.process = child

    let output = ''
    await new Promise<void>((resolve, reject) => {
      child.stdout?.on('data', (chunk: Buffer) => {
        output += chunk.toString()
        if (output.includes('Ready to accept connections')) resolve()
      })
      child.once('exit', (code) => reject(new Error(`redis-server exited with ${code}: ${output}`)))
    })
  }

  async stop (): Promise<void> {
    const child = this.process
    this.process = null
    if (!child || child.exitCode !== null || !child.pid) return
    const exited = once(child, 'exit')
    process.kill(child.pid, 'SIGTERM')
    await exited
  }

  async remove (): Promise<void> {
    await this.stop()
    rmSync(this.dir, { recursive: true, force: true })
  }
}

async function ownRedis (t: Test): Promise<OwnRedis> {
  const server = new OwnRedis(await freePort())
  t.teardown(async () => { await server.remove() })
  await server.start()
  return server
}

function capture (): { logs: LogCapture, log: ReturnType<typeof createLogger> } {
  const logs = new LogCapture()
  return { logs, log: createLogger({ service: 'test', level: 'info', destination: logs }) }
}

t.test('every key the client writes carries the prefix', { skip: noRedis }, async (t) => {
  const { url } = present(redis)
  const prefix = `${uniqueName('kit')}:`
  const client = await connectRedis({ url, keyPrefix: prefix }, capture().log)
  const plain = new Redis(url)
  t.teardown(async () => {
    await plain.del(`${prefix}challenge`)
    client.disconnect()
    plain.disconnect()
  })

  await client.set('challenge', 'v', 'EX', 60)

  t.equal(await plain.get(`${prefix}challenge`), 'v')
  t.equal(await plain.exists('challenge'), 0)
})

t.test('K21 while Redis is down a command fails ' +
  'at once instead of waiting in a queue', { skip: noRedisServer }, async (t) => {
  const server = await ownRedis(t)
  const client = await connectRedis({ url: server.url, keyPrefix: 'k21:' }, capture().log)
  t.teardown(() => client.disconnect())
  await client.set('a', '1')

  const closed = once(client, 'close')
  await server.stop()
  await closed

  await t.rejects(client.get('a'), /enableOfflineQueue/)
})

t.test('K21 after Redis comes back ' +
  'the same client works again', { skip: noRedisServer }, async (t) => {
  const server = await ownRedis(t)
  const { logs, log } = capture()
  const client = await connectRedis({ url: server.url, keyPrefix: 'k21:' }, log)
  t.teardown(() => client.disconnect())

  const closed = once(client, 'close')
  await server.stop()
  await closed
  const ready = once(client, 'ready')
  await server.start()
  await ready

  t.equal(await client.set('b', '2'), 'OK')
  t.equal(await client.get('b'), '2')
  const messages = logs.entries().map((entry) => entry.msg)
  const count = (text: string): number => messages.filter((msg) => msg === text).length
  t.equal(count('redis connection lost'), 1, 'the outage is logged once')
  t.equal(count('redis connection restored'), 1, 'and so is its end')
})

t.test('connectRedis fails when Redis cannot be reached, and stops trying', async (t) => {
  let attempts = 0
  const refuser = net.createServer((socket) => {
    attempts++
    socket.destroy()
  })
  await new Promise<void>((resolve) => refuser.listen(0, '127.0.0.1', resolve))
  t.teardown(() => { refuser.close() })
  const { port } = refuser.address() as AddressInfo

  await t.rejects(
    connectRedis({ url: `redis://127.0.0.1:${port}`, keyPrefix: 'x:' }, capture().log)
  )
  const atFailure = attempts
  // Longer than the first reconnect delays (200 ms, 400 ms): a client left
  // behind would have retried by then.
  await new Promise((resolve) => setTimeout(resolve, 800))

  t.equal(attempts, atFailure, 'no connection attempts after the failure')
})

t.test('a redis-sentinel address names the sentinels and the primary to follow', async (t) => {
  t.same(redisTarget('redis://127.0.0.1:6379/0'), { url: 'redis://127.0.0.1:6379/0' })
  t.same(redisTarget('redis-sentinel://:s3cret@10.0.0.1:26379,10.0.0.2/mymaster'), {
    options: {
      sentinels: [{ host: '10.0.0.1', port: 26379 }, { host: '10.0.0.2', port: 26379 }],
      name: 'mymaster',
      password: 's3cret'
    }
  })
})
