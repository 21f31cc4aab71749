import t, { type Test } from 'tap'
import { generateKeyPairSync, randomBytes } from 'node:crypto'
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { parse } from 'yaml'
import { loadAuthConfig } from '../../services/auth/dist/index.js'
import { loadTotpConfig } from '../../services/totp/dist/index.js'
import { loadUserConfig } from '../../services/user/dist/index.js'
import { instructionsOf, parseDockerfile } from './dockerfile.js'
import { compose, composeMissing, readRepoFile, ROOT } from './tools.js'

/** The tests that run docker-compose skip, saying why, where it is not installed. */
const noCompose = composeMissing()

/** The settings whose values are secrets: they may only come from .env. */
const SECRETS = [
  'INTERNAL_TOKEN',
  'SIGNING_KEY',
  'TOTP_ENCRYPTION_KEYS',
  'TOTP_ENCRYPTION_KEY_ID',
  'RECOVERY_CODE_PEPPER',
  'ADMIN_PASSWORD'
]

interface ComposeService {
  image?: string
  build?: { context: string, dockerfile?: string, target?: string, args?: Record<string, string> }
  environment?: Record<string, string>
  depends_on?: Record<string, { condition?: string }>
  healthcheck?: { test?: unknown, disable?: boolean }
  ports?: string[]
  volumes?: string[]
}

interface ComposeFile {
  services: Record<string, ComposeService>
  volumes?: Record<string, unknown>
}

/** The compose file as docker-compose resolves it, with .env.example's values. */
function resolved (t: Test, envFile?: string): ComposeFile | null {
  const result = compose(['config'], envFile)
  t.equal(result.status, 0, result.stderr)
  return parse(result.stdout) as ComposeFile
}

/** The compose file as written, before any variable is substituted. */
function written (): ComposeFile {
  return parse(readRepoFile('docker-compose.yml'), { merge: true }) as ComposeFile
}

function envExampleKeys (): Map<string, string> {
  const entries = readRepoFile('.env.example').split('\n')
    .filter((line) => /^[A-Z][A-Z0-9_]*=/.test(line))
    .map((line) => {
      const at = line.indexOf('=')
      return [line.slice(0, at), line.slice(at + 1)] as [string, string]
    })
  return new Map(entries)
}

function dockerfileOf (build: NonNullable<ComposeService['build']>): string {
  return join(build.context, build.dockerfile ?? 'Dockerfile')
}

t.test('docker-compose finds the compose file valid, ' +
  'with no unset variable', { skip: noCompose }, async (t) => {
  const result = compose(['config', '-q'])

  t.equal(result.status, 0, result.stderr)
  t.notMatch(result.stderr, /variable is not set/, 'every variable is in .env.example')
})

t.test('compose runs the three stores, ' +
  'the three services and the gateway', { skip: noCompose }, async (t) => {
  const result = compose(['config', '--services'])

  const services = result.stdout.trim().split('\n').sort()
  t.same(services, ['auth', 'gateway', 'mongo', 'rabbitmq', 'redis', 'totp', 'user'])
})

t.test('every image compose builds has a Dockerfile ' +
  'with the stage it names', { skip: noCompose }, async (t) => {
  const file = resolved(t)
  if (!file) return

  const built = Object.entries(file.services).filter(([, service]) => service.build)
  t.ok(built.length >= 4, 'the services and the gateway are built here')
  for (const [name, service] of built) {
    const build = service.build as NonNullable<ComposeService['build']>
    const path = dockerfileOf(build)
    t.ok(existsSync(path), `${name}: ${path} exists`)
    if (!existsSync(path)) continue

    const stages = parseDockerfile(readFileSync(path, 'utf8')).stages.map((stage) => stage.name)
    t.ok(build.target, `${name} names its build target`)
    t.ok(stages.includes(build.target), `${name}: stage ${build.target} is in ${path}`)
  }
})

t.test('every SERVICE build argument names a service ' +
  'of the workspace', { skip: noCompose }, async (t) => {
  const file = resolved(t)
  if (!file) return

  const named = Object.values(file.services)
    .flatMap((service) => service.build?.args?.SERVICE ?? [])
  t.same(named.sort(), ['auth', 'totp', 'user'])
  for (const service of named) {
    t.ok(existsSync(join(ROOT, 'services', service, 'package.json')), `services/${service}`)
  }
})

t.test('the start order waits for each dependency ' +
  'to be healthy', { skip: noCompose }, async (t) => {
  const file = resolved(t)
  if (!file) return

  for (const [name, service] of Object.entries(file.services)) {
    for (const [dependency, rule] of Object.entries(service.depends_on ?? {})) {
      t.equal(rule.condition, 'service_healthy', `${name} waits for ${dependency} to be healthy`)

      const target = file.services[dependency]
      const own = target?.healthcheck?.test !== undefined && target.healthcheck.disable !== true
      const fromImage = target?.build !== undefined && hasHealthcheck(target.build)
      t.ok(own || fromImage, `${dependency} has a health check`)
    }
  }
  t.ok(file.services.gateway?.depends_on?.auth, 'the gateway starts after auth')
  t.ok(file.services.auth?.depends_on?.user, 'auth starts after user')
  t.ok(file.services.auth?.depends_on?.totp, 'auth starts after totp')
})

function hasHealthcheck (build: NonNullable<ComposeService['build']>): boolean {
  const { stages } = parseDockerfile(readFileSync(dockerfileOf(build), 'utf8'))
  const stage = stages.find((candidate) => candidate.name === build.target) ?? stages.at(-1)
  return stage !== undefined && instructionsOf(stage, 'HEALTHCHECK').length > 0
}

t.test('only the gateway is published, on port 8080', { skip: noCompose }, async (t) => {
  const file = resolved(t)
  if (!file) return

  t.match(file.services.gateway?.ports ?? [], [/:8080:8080\/tcp$/])
  for (const name of ['auth', 'totp', 'user']) {
    t.same(file.services[name]?.ports ?? [], [], `${name} is reached through the gateway`)
  }
  for (const name of ['redis', 'rabbitmq', 'mongo']) {
    for (const port of file.services[name]?.ports ?? []) {
      t.match(port, /^127\.0\.0\.1:/, `${name} is published on loopback only`)
    }
  }
})

t.test('MongoDB and RabbitMQ keep their data ' +
  'in named volumes', { skip: noCompose }, async (t) => {
  const file = resolved(t)
  if (!file) return

  const volumes = Object.keys(file.volumes ?? {})
  const mounts = {
    mongo: file.services.mongo?.volumes ?? [],
    rabbitmq: file.services.rabbitmq?.volumes ?? []
  }
  t.ok(mounts.mongo.some((m) => m.endsWith(':/data/db:rw')), 'mongo mounts /data/db')
  t.ok(mounts.rabbitmq.some((m) => m.includes(':/var/lib/rabbitmq')), 'rabbitmq mounts its data')
  for (const mount of [...mounts.mongo, ...mounts.rabbitmq]) {
    t.ok(volumes.includes(mount.split(':')[0] as string), `${mount} is a named volume`)
  }
})

t.test('secrets in the compose file are only references to .env', async (t) => {
  const file = written()
  const text = readRepoFile('docker-compose.yml')

  const seen = new Set<string>()
  for (const [name, service] of Object.entries(file.services)) {
    for (const [key, value] of Object.entries(service.environment ?? {})) {
      if (!SECRETS.includes(key)) continue
      seen.add(key)
      t.equal(value, `\${${key}}`, `${name}: ${key} comes from .env, with no default`)
    }
    for (const key of Object.keys(service.build?.args ?? {})) {
      t.notOk(SECRETS.includes(key), `${name}: ${key} is not a build argument`)
    }
  }
  t.same([...seen].sort(), [...SECRETS].sort(), 'every secret reaches the service using it')
  t.notMatch(text, /PRIVATE KEY/, 'no key material')
  t.notMatch(text, /[A-Za-z0-9+/]{32,}={0,2}/, 'no long base64 value')
})

t.test('.env.example lists every variable the compose file uses, ' +
  'and leaves every secret empty', async (t) => {
  const text = readRepoFile('docker-compose.yml')
  const used = new Set([...text.matchAll(/\$\{([A-Z][A-Z0-9_]*)/g)].map((match) => match[1]))
  const listed = envExampleKeys()

  t.ok(used.size > 0)
  for (const name of used) t.ok(listed.has(name as string), `${name} is in .env.example`)
  for (const name of listed.keys()) t.ok(used.has(name), `${name} is used by the compose file`)
  for (const name of SECRETS.filter((secret) => secret !== 'TOTP_ENCRYPTION_KEY_ID')) {
    t.equal(listed.get(name), '', `${name} has no example value to run with`)
  }
})

t.test('.env.example says how to make each secret', async (t) => {
  const text = readRepoFile('.env.example')
  for (const name of SECRETS.filter((secret) => secret !== 'TOTP_ENCRYPTION_KEY_ID')) {
    const at = text.search(new RegExp(`^${name}=`, 'm'))
    const before = text.slice(0, at).split('\n\n').at(-1) ?? ''
    t.match(before, /openssl /, `${name} comes after a command that makes it`)
  }
})

/** .env.example with every secret filled in, the way .env.example says to make them. */
function filledEnvFile (t: Test): string {
  const key = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey
  const pem = key.export({ type: 'pkcs8', format: 'pem' }).toString()
  const secrets: Record<string, string> = {
    INTERNAL_TOKEN: randomBytes(32).toString('base64'),
    SIGNING_KEY: `"${pem.replaceAll('\n', '\\n')}"`,
    TOTP_ENCRYPTION_KEYS: `k1:${randomBytes(32).toString('base64')}`,
    RECOVERY_CODE_PEPPER: randomBytes(32).toString('base64'),
    ADMIN_PASSWORD: randomBytes(18).toString('base64')
  }
  const text = readRepoFile('.env.example').replace(/^([A-Z][A-Z0-9_]*)=$/gm,
    (line, name: string) => name in secrets ? `${name}=${secrets[name]}` : line)
  const path = join(t.testdir(), '.env')
  writeFileSync(path, text)
  return path
}

t.test('with its secrets filled in, .env gives each service a configuration it accepts',
  { skip: noCompose }, async (t) => {
    const file = resolved(t, filledEnvFile(t))
    if (!file) return

    const loaders = { auth: loadAuthConfig, totp: loadTotpConfig, user: loadUserConfig }
    for (const [name, load] of Object.entries(loaders)) {
      const env = file.services[name]?.environment ?? {}
      t.doesNotThrow(() => load(env), `${name} accepts its environment`)
    }
  })
