import { randomBytes } from 'node:crypto'
import { skipBecause } from './skips.js'

/**
 * Where a test finds a backing service: the address in the environment when
 * one is given (CI and this machine), else a container started for the test
 * file where a Docker engine exists. With neither, the tests that need it
 * skip, saying why: on a machine with only Node.js no test may fail.
 */
export interface Backing {
  url: string
  /** Stops what the helper started; a no-op for an address from the environment. */
  stop: () => Promise<void>
}

/** A backing service this machine has neither an address nor a container for. */
export interface Unavailable {
  /** Why the tests that need this service are skipped. */
  skip: string
  /** Nothing to stop: there so that a teardown need not tell the two apart. */
  stop: () => Promise<void>
}

async function startContainer (image: string, port: number, scheme: string): Promise<Backing> {
  const { GenericContainer } = await import('testcontainers')
  const container = await new GenericContainer(image).withExposedPorts(port).start()
  const url = `${scheme}://${container.getHost()}:${container.getMappedPort(port)}`
  return { url, stop: async () => { await container.stop() } }
}

interface Service {
  name: string
  variable: string
  image: string
  port: number
  scheme: string
}

/**
 * The address in the service's variable, else a container, else the reason
 * its tests skip (see skipBecause for when that is a failure instead).
 */
async function resolveBacking (service: Service): Promise<Backing | Unavailable> {
  const url = process.env[service.variable]
  if (url) return { url, stop: async () => {} }

  try {
    return await startContainer(service.image, service.port, service.scheme)
  } catch (error) {
    const cause = String(error).split('\n')[0]
    const reason = `no ${service.name}: ${service.variable} is not set ` +
      `and no container could start (${cause})`
    return { skip: skipBecause(reason), stop: async () => {} }
  }
}

/** Redis: REDIS_URL, else a redis:7 container, else a reason to skip. */
export async function redisBacking (): Promise<Backing | Unavailable> {
  return await resolveBacking({
    name: 'Redis',
    variable: 'REDIS_URL',
    image: 'redis:7-alpine',
    port: 6379,
    scheme: 'redis'
  })
}

/** RabbitMQ: AMQP_URL, else a rabbitmq:3 container, else a reason to skip. */
export async function amqpBacking (): Promise<Backing | Unavailable> {
  return await resolveBacking({
    name: 'RabbitMQ',
    variable: 'AMQP_URL',
    image: 'rabbitmq:3-alpine',
    port: 5672,
    scheme: 'amqp'
  })
}

/** MongoDB: MONGO_URL, else a mongo:7 container, else a reason to skip. */
export async function mongoBacking (): Promise<Backing | Unavailable> {
  return await resolveBacking({
    name: 'MongoDB',
    variable: 'MONGO_URL',
    image: 'mongo:7',
    port: 27017,
    scheme: 'mongodb'
  })
}

/**
 * The `skip` option of a test that needs every one of these backings: the
 * reason of the first that is missing, or false when all are there.
 */
export function skipWithout (...needs: Array<Backing | Unavailable>): string | false {
  const missing = needs.find((need): need is Unavailable => 'skip' in need)
  return missing ? missing.skip : false
}

/**
 * The backing, in a test declared with `skip: skipWithout(backing)`: such a
 * test runs only when it is there, so this throws only for a test without it.
 */
export function present (backing: Backing | Unavailable): Backing {
  if ('skip' in backing) throw new Error(`a test without skipWithout used it: ${backing.skip}`)
  return backing
}

/** A name no other test run uses: for key prefixes, queues, exchanges, databases. */
export function uniqueName (label: string): string {
  return `t_${label}_${randomBytes(5).toString('hex')}`
}
