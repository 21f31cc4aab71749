import { randomBytes } from 'node:crypto'

/**
 * Where a test finds a backing service: the address in the environment when
 * one is given (CI and this machine), else a container started for the test
 * file where a Docker engine exists.
 */
export interface Backing {
  url: string
  /** Stops what the helper started; a no-op for an address from the environment. */
  stop: () => Promise<void>
}

export interface Unavailable {
  /** Why the tests that need this service are skipped. */
  skip: string
}

async function startContainer (
  image: string,
  port: number,
  scheme: string,
  path = ''
): Promise<Backing> {
  const { GenericContainer } = await import('testcontainers')
  const container = await new GenericContainer(image).withExposedPorts(port).start()
  const url = `${scheme}://${container.getHost()}:${container.getMappedPort(port)}${path}`
  return { url, stop: async () => { await container.stop() } }
}

function fromEnvironment (name: string): Backing | null {
  const url = process.env[name]
  return url ? { url, stop: async () => {} } : null
}

/** Redis: REDIS_URL, else a redis:7 container. Fails (does not skip) when neither exists. */
export async function redisBacking (): Promise<Backing> {
  const given = fromEnvironment('REDIS_URL')
  if (given) return given

  try {
    return await startContainer('redis:7-alpine', 6379, 'redis')
  } catch (error) {
    throw new Error(`Redis is needed: set REDIS_URL or run a Docker engine (${String(error)})`)
  }
}

/** RabbitMQ: AMQP_URL, else a rabbitmq:3 container. Fails (does not skip) when neither exists. */
export async function amqpBacking (): Promise<Backing> {
  const given = fromEnvironment('AMQP_URL')
  if (given) return given

  try {
    return await startContainer('rabbitmq:3-alpine', 5672, 'amqp')
  } catch (error) {
    throw new Error(`RabbitMQ is needed: set AMQP_URL or run a Docker engine (${String(error)})`)
  }
}

/**
 * MongoDB: MONGO_URL, else a mongo:7 container, else a reason to skip. No
 * MongoDB server can be installed on every machine, so its absence is a skip
 * that says why rather than a failure.
 */
export async function mongoBacking (): Promise<Backing | Unavailable> {
  const given = fromEnvironment('MONGO_URL')
  if (given) return given

  try {
    return await startContainer('mongo:7', 27017, 'mongodb')
  } catch (error) {
    const reason = String(error).split('\n')[0]
    return { skip: `no MongoDB: MONGO_URL is not set and no container could start (${reason})` }
  }
}

/** A name no other test run uses: for key prefixes, queues, exchanges, databases. */
export function uniqueName (label: string): string {
  return `t_${label}_${randomBytes(5).toString('hex')}`
}
