import { readFileSync } from 'node:fs'
import { createPublicKey } from 'node:crypto'
import fastifyJwt from '@fastify/jwt'
import Fastify from 'fastify'
import { Redis } from 'ioredis'
import { verify } from 'otplib'
import { NodeCryptoPlugin } from '@otplib/plugin-crypto-node'
import { base32ToBytes } from '@twofa/testing'

/**
 * The floor: a bare fastify process doing the store work of a sign-in with
 * no service hop, no logging and no hooks. `POST /floor/verify-2fa` makes
 * one Redis Lua call on a challenge hash, checks a TOTP code with otplib and
 * signs an ES256 token; `GET /floor/me` only verifies an ES256 token. What a
 * service does beyond this is what its ratio to the floor shows.
 */

export interface FloorFixture {
  signingKey: string
  challenges: Array<{ id: string, userId: string, secret: string }>
  /** Seconds the challenge hashes live in Redis. */
  ttlSeconds: number
}

// KEYS[1] challenge hash. Counts the attempt and returns the owner; nil when missing.
const ATTEMPT = `
local owner = redis.call('HGET', KEYS[1], 'owner')
if not owner then return nil end
redis.call('HINCRBY', KEYS[1], 'attempts', 1)
return owner
`

interface FloorRedis extends Redis {
  floorAttempt: (key: string) => Promise<string | null>
}

const verifyBody = {
  type: 'object',
  additionalProperties: false,
  required: ['challenge_id', 'totp_code'],
  properties: {
    challenge_id: { type: 'string', maxLength: 64 },
    totp_code: { type: 'string', pattern: '^[0-9]{6}$' }
  }
} as const

async function openChallenges (redis: FloorRedis, fixture: FloorFixture): Promise<void> {
  const batch = redis.pipeline()
  for (const challenge of fixture.challenges) {
    batch.hset(`challenge:${challenge.id}`, { owner: challenge.userId, attempts: 0 })
    batch.expire(`challenge:${challenge.id}`, fixture.ttlSeconds)
  }
  await batch.exec()
}

async function main (): Promise<void> {
  const fixtureFile = process.env.FLOOR_FIXTURE as string
  const fixture = JSON.parse(readFileSync(fixtureFile, 'utf8')) as FloorFixture
  const secrets = new Map(fixture.challenges.map((c) => [c.userId, base32ToBytes(c.secret)]))
  const redis = new Redis(process.env.REDIS_URL as string, {
    keyPrefix: process.env.REDIS_PREFIX
  }) as FloorRedis
  redis.defineCommand('floorAttempt', { numberOfKeys: 1, lua: ATTEMPT })
  await openChallenges(redis, fixture)

  const crypto = new NodeCryptoPlugin()
  const publicKey = createPublicKey(fixture.signingKey).export({ type: 'spki', format: 'pem' })
  const app = Fastify({ logger: false })
  await app.register(fastifyJwt, {
    secret: { private: fixture.signingKey, public: publicKey },
    sign: { algorithm: 'ES256', iss: 'twofa' },
    verify: { algorithms: ['ES256'], allowedIss: 'twofa', allowedAud: 'twofa' }
  })

  app.post<{ Body: { challenge_id: string, totp_code: string } }>('/floor/verify-2fa', {
    schema: { body: verifyBody }
  }, async (request, reply) => {
    const owner = await redis.floorAttempt(`challenge:${request.body.challenge_id}`)
    const secret = owner === null ? undefined : secrets.get(owner)
    if (owner === null || secret === undefined) return await reply.code(401).send({ ok: false })

    const result = await verify({
      secret,
      token: request.body.totp_code,
      epoch: Date.now() / 1000,
      epochTolerance: 30,
      period: 30,
      digits: 6,
      algorithm: 'sha1',
      crypto
    })
    if (!result.valid) return await reply.code(401).send({ ok: false })

    const token = app.jwt.sign(
      {
        email: `${owner}@floor.example`,
        roles: ['user'],
        amr: ['pwd', 'otp'],
        token_use: 'access'
      },
      { sub: owner, aud: 'twofa', expiresIn: 900 }
    )
    return { success: true, token, token_type: 'Bearer', expires_in: 900 }
  })

  app.get('/floor/me', async (request) => {
    const claims = await request.jwtVerify<{ sub: string }>()
    return { id: claims.sub }
  })
  app.get('/readyz', async () => ({ ready: true }))

  await app.listen({ host: '127.0.0.1', port: Number(process.env.PORT) })
  const close = (): void => {
    app.close().then(() => redis.quit()).finally(() => process.exit(0))
  }
  process.once('SIGTERM', close)
  process.once('SIGINT', close)
}

main().catch((error: unknown) => {
  process.stderr.write(`floor: cannot start: ${String(error)}\n`)
  process.exit(1)
})
