import { generateKeyPairSync, type KeyObject } from 'node:crypto'
import t, { type Test } from 'tap'
import { createSigner } from 'fast-jwt'
import type { FastifyInstance } from 'fastify'
import { LogCapture } from '@twofa/testing'
import { createApp } from '../src/app.js'
import { createLogger } from '../src/logger.js'
import {
  fetchJwks,
  jwksKeyResolver,
  registerAccessTokens,
  type KeyResolver
} from '../src/tokens.js'

const ISSUER = 'twofa-test'
const AUDIENCE = 'twofa-api'

interface SigningKey {
  kid: string
  privateKey: KeyObject
  publicKey: KeyObject
}

function makeKey (kid: string): SigningKey {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' })
  return { kid, privateKey, publicKey }
}

function jwksOf (...keys: SigningKey[]): { keys: object[] } {
  return {
    keys: keys.map((key) => ({
      ...key.publicKey.export({ format: 'jwk' }),
      kid: key.kid,
      use: 'sig'
    }))
  }
}

const current = makeKey('current')
const stranger = makeKey('stranger')

interface TokenOptions {
  key?: SigningKey
  kid?: string | null
  aud?: string
  iss?: string
  expiresIn?: number
  clockTimestamp?: number
}

/** An ES256 access token as the auth service issues it; options bend one thing at a time. */
function sign (claims: Record<string, unknown> = {}, options: TokenOptions = {}): string {
  const key = options.key ?? current
  const kid = options.kid === undefined ? key.kid : options.kid
  const signer = createSigner({
    key: key.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    algorithm: 'ES256',
    ...(kid === null ? {} : { kid }),
    iss: options.iss ?? ISSUER,
    aud: options.aud ?? AUDIENCE,
    expiresIn: options.expiresIn ?? 60_000,
    clockTimestamp: options.clockTimestamp
  })
  return signer({
    sub: 'user-1',
    email: 'a@example.com',
    roles: [],
    amr: ['pwd', 'otp'],
    token_use: 'access',
    ...claims
  })
}

function base64url (value: string | Buffer): string {
  return Buffer.from(value).toString('base64url')
}

interface Built {
  app: FastifyInstance
  logs: LogCapture
}

/** An app with one route behind `authenticate` and one behind `requireAdmin`. */
async function build (
  t: Test,
  resolveKey: KeyResolver = jwksKeyResolver(async () => jwksOf(current))
): Promise<Built> {
  const logs = new LogCapture()
  const app = createApp({
    logger: createLogger({ service: 'test', level: 'info', destination: logs })
  })
  await registerAccessTokens(app, { resolveKey, issuer: ISSUER, audience: AUDIENCE })

  app.get('/me', { preHandler: app.authenticate }, async (request) => request.principal)
  app.get('/admin', { preHandler: app.requireAdmin }, async () => ({ ok: true }))

  t.teardown(async () => { await app.close() })
  return { app, logs }
}

async function statusWith (app: FastifyInstance, authorization: string | undefined, url = '/me') {
  const response = await app.inject({
    method: 'GET',
    url,
    headers: authorization === undefined ? {} : { authorization }
  })
  return { status: response.statusCode, body: response.json() }
}

t.test('a valid access token gives the principal named by its claims', async (t) => {
  const { app } = await build(t)

  const { status, body } = await statusWith(app, `Bearer ${sign({ roles: ['admin'] })}`)

  t.equal(status, 200)
  t.same(body, { id: 'user-1', email: 'a@example.com', roles: ['admin'], amr: ['pwd', 'otp'] })
})

t.test('the request log line names the authenticated user', async (t) => {
  const { app, logs } = await build(t)

  await statusWith(app, `Bearer ${sign()}`)
  await new Promise((resolve) => setImmediate(resolve))

  const line = logs.entries().find((entry) => entry.msg === 'request')
  t.equal(line?.user_id, 'user-1')
  t.notMatch(logs.text(), /eyJ/, 'no token in the log')
})

t.test('the bearer scheme is accepted in any case (RFC 9110 §11.1)', async (t) => {
  const { app } = await build(t)

  for (const scheme of ['bearer', 'BEARER', 'bEaReR']) {
    const { status, body } = await statusWith(app, `${scheme} ${sign()}`)
    t.equal(status, 200, scheme)
    t.equal(body.id, 'user-1', scheme)
  }
})

t.test('a request without a token gets 401', async (t) => {
  const { app } = await build(t)

  const { status, body } = await statusWith(app, undefined)

  t.equal(status, 401)
  t.same(body, { error: 'unauthorized', message: 'A valid access token is required.' })
})

t.test('a malformed bearer value gets 401, never 500', async (t) => {
  const { app } = await build(t)
  const [header, payload] = sign().split('.')
  const values = [
    'Bearer',
    'Bearer ',
    'Bearer  ' + sign(),
    'Basic dXNlcjpwYXNz',
    'Bearer abc',
    'Bearer a.b.c',
    'Bearer !!!.@@@.###',
    `Bearer ${header}.${payload}`,
    `Bearer ${header}.${payload}.`,
    `Bearer ${base64url('not json')}.${payload}.AAAA`,
    `Bearer ${header}.${base64url('[1,2]')}.AAAA`,
    `Bearer ${sign()}x`
  ]

  for (const value of values) {
    const { status, body } = await statusWith(app, value)
    t.equal(status, 401, value)
    t.equal(body.error, 'unauthorized', value)
  }
})

t.test('a token whose signature has the wrong length gets 401, not 500', async (t) => {
  const { app } = await build(t)
  const [header, payload] = sign().split('.')

  for (const length of [0, 1, 32, 63, 65, 72, 128]) {
    const signature = base64url(Buffer.alloc(length, 7))
    const { status } = await statusWith(app, `Bearer ${header}.${payload}.${signature}`)
    t.equal(status, 401, `${length} signature bytes`)
  }
})

t.test('a token with alg none gets 401', async (t) => {
  const { app } = await build(t)
  const unsigned = createSigner({ algorithm: 'none', iss: ISSUER, aud: AUDIENCE })
  const token = unsigned({ sub: 'user-1', roles: ['admin'], token_use: 'access' })
  const headerWithKid = base64url(JSON.stringify({ alg: 'none', typ: 'JWT', kid: 'current' }))
  const withKid = `${headerWithKid}.${token.split('.')[1]}.`

  t.equal((await statusWith(app, `Bearer ${token}`)).status, 401)
  t.equal((await statusWith(app, `Bearer ${withKid}`)).status, 401)
})

t.test('a token signed with HS256 using the public key as the secret gets 401', async (t) => {
  const { app } = await build(t)
  const confused = createSigner({
    key: current.publicKey.export({ type: 'spki', format: 'pem' }).toString(),
    algorithm: 'HS256',
    kid: 'current',
    iss: ISSUER,
    aud: AUDIENCE
  })

  const token = confused({ sub: 'user-1', token_use: 'access' })
  const { status } = await statusWith(app, `Bearer ${token}`)

  t.equal(status, 401)
})

t.test('a token signed by an unknown key gets 401', async (t) => {
  const { app } = await build(t)

  t.equal((await statusWith(app, `Bearer ${sign({}, { key: stranger })}`)).status, 401)
})

t.test('a token naming a known key id but signed by another key gets 401', async (t) => {
  const { app } = await build(t)

  const token = sign({}, { key: stranger, kid: 'current' })
  t.equal((await statusWith(app, `Bearer ${token}`)).status, 401)
})

t.test('a token without a key id gets 401', async (t) => {
  const { app } = await build(t)

  t.equal((await statusWith(app, `Bearer ${sign({}, { kid: null })}`)).status, 401)
})

t.test('a token for another audience gets 401', async (t) => {
  const { app } = await build(t)

  t.equal((await statusWith(app, `Bearer ${sign({}, { aud: 'someone-else' })}`)).status, 401)
})

t.test('a token from another issuer gets 401', async (t) => {
  const { app } = await build(t)

  t.equal((await statusWith(app, `Bearer ${sign({}, { iss: 'evil' })}`)).status, 401)
})

t.test('a token whose token_use is not access gets 401', async (t) => {
  const { app } = await build(t)

  for (const use of ['2fa_challenge', 'refresh', '', undefined]) {
    const { status } = await statusWith(app, `Bearer ${sign({ token_use: use })}`)
    t.equal(status, 401, String(use))
  }
})

t.test('a token without a string subject gets 401', async (t) => {
  const { app } = await build(t)

  t.equal((await statusWith(app, `Bearer ${sign({ sub: 42 })}`)).status, 401)
})

t.test('an expired token gets 401', async (t) => {
  const { app } = await build(t)
  const twoHoursAgo = Date.now() - 2 * 60 * 60 * 1000

  const token = sign({}, { clockTimestamp: twoHoursAgo })
  t.equal((await statusWith(app, `Bearer ${token}`)).status, 401)
})

t.test('a token that is not valid yet gets 401', async (t) => {
  const { app } = await build(t)

  const token = sign({ nbf: Math.floor(Date.now() / 1000) + 3600 })
  t.equal((await statusWith(app, `Bearer ${token}`)).status, 401)
})

t.test('requireAdmin gives 403 to a valid token without the admin role', async (t) => {
  const { app } = await build(t)

  const { status, body } = await statusWith(app, `Bearer ${sign({ roles: ['user'] })}`, '/admin')

  t.equal(status, 403)
  t.equal(body.error, 'forbidden')
})

t.test('requireAdmin lets an admin through', async (t) => {
  const { app } = await build(t)

  t.equal((await statusWith(app, `Bearer ${sign({ roles: ['admin'] })}`, '/admin')).status, 200)
})

t.test('requireAdmin gives 401, not 403, to a request without a valid token', async (t) => {
  const { app } = await build(t)

  t.equal((await statusWith(app, undefined, '/admin')).status, 401)
  const forged = sign({ roles: ['admin'] }, { key: stranger })
  t.equal((await statusWith(app, `Bearer ${forged}`, '/admin')).status, 401)
})

t.test('while the key set cannot be fetched, tokens get 503 rather than 401', async (t) => {
  const { app } = await build(t, jwksKeyResolver(async () => {
    throw new Error('connect ECONNREFUSED')
  }))

  const first = await statusWith(app, `Bearer ${sign()}`)
  const second = await statusWith(app, `Bearer ${sign()}`)

  t.equal(first.status, 503)
  t.equal(first.body.error, 'dependency_unavailable')
  t.equal(second.status, 503, 'also within the refetch interval')
})

/** A JWKS source that counts fetches and serves whatever keys the test sets. */
function countingSource (...keys: SigningKey[]) {
  const source = {
    keys,
    fetches: 0,
    fetch: async () => {
      source.fetches++
      return jwksOf(...source.keys)
    }
  }
  return source
}

t.test('the resolver fetches the key set once ' +
  'and answers known key ids from its cache', async (t) => {
  const source = countingSource(current)
  const resolve = jwksKeyResolver(source.fetch)

  t.ok(await resolve('current'))
  t.ok(await resolve('current'))

  t.equal(source.fetches, 1)
})

t.test('the resolver refetches for an unknown key id, so a rotated-in key is found', async (t) => {
  let now = 1_000_000
  const source = countingSource(current)
  const resolve = jwksKeyResolver(source.fetch, { now: () => now })
  await resolve('current')

  source.keys = [current, stranger]
  now += 10_000
  const pem = await resolve('stranger')

  t.equal(source.fetches, 2)
  t.match(pem, /^-----BEGIN PUBLIC KEY-----/)
})

t.test('the resolver refetches for unknown key ids at most once per interval', async (t) => {
  let now = 1_000_000
  const source = countingSource(current)
  const resolve = jwksKeyResolver(source.fetch, { now: () => now })
  await resolve('current')

  t.equal(await resolve('unknown-1'), undefined)
  now += 9_999
  t.equal(await resolve('unknown-2'), undefined)
  t.equal(source.fetches, 1, 'no refetch within ten seconds')

  now += 1
  await resolve('unknown-3')
  t.equal(source.fetches, 2, 'one refetch once the interval has passed')
})

t.test('concurrent lookups of an unknown key id share one fetch', async (t) => {
  const source = countingSource(current)
  const resolve = jwksKeyResolver(source.fetch)

  const pems = await Promise.all([resolve('current'), resolve('current'), resolve('other')])

  t.equal(source.fetches, 1)
  t.ok(pems[0])
  t.equal(pems[0], pems[1])
  t.equal(pems[2], undefined)
})

t.test('an unusable key in the set does not hide the usable ones', async (t) => {
  const resolve = jwksKeyResolver(async () => ({
    keys: [
      { kty: 'EC', crv: 'P-256', x: 'broken', y: 'broken', kid: 'broken' },
      ...jwksOf(current).keys
    ]
  }))

  t.ok(await resolve('current'))
  t.equal(await resolve('broken'), undefined)
})

t.test('fetchJwks reads the key set over HTTP and refuses an error status', async (t) => {
  const server = createApp({ logger: createLogger({ service: 'jwks', level: 'silent' }) })
  server.get('/jwks.json', async () => jwksOf(current))
  t.teardown(async () => { await server.close() })
  const base = await server.listen({ host: '127.0.0.1', port: 0 })

  const resolve = jwksKeyResolver(async () => await fetchJwks(`${base}/jwks.json`))

  t.ok(await resolve('current'))
  await t.rejects(fetchJwks(`${base}/missing.json`), /JWKS answered 404/)
})
