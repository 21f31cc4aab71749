import fastifyCookie from '@fastify/cookie'
import fastifyJwt from '@fastify/jwt'
import fastifyRateLimit from '@fastify/rate-limit'
import type { Redis } from 'ioredis'
import type { FastifyInstance } from 'fastify'
import {
  ACCESS_TOKEN_USE,
  buildErrorHandler,
  CHALLENGE_TOKEN_USE,
  clearSessionCookies,
  commonErrors,
  proofFrom,
  recoveryCodeSchema,
  setSessionCookies,
  TOKEN_ALGORITHM,
  totpCodeSchema,
  wantsCookieSession,
  type ProofFields
} from '@twofa/kit'
import type { FastifyReply, FastifyRequest } from 'fastify'
import type { TotpClient } from '../clients/totp-client.js'
import type { Account, UserClient } from '../clients/user-client.js'
import type { SigninThrottle } from '../domain/signin-throttle.js'
import type { SigningKey } from '../domain/signing-key.js'
import { errors } from '../errors.js'

export interface SsoOptions {
  users: UserClient
  totp: TotpClient
  throttle: SigninThrottle
  /** Sign-in requests per client address per minute; 0 for no limit. */
  ratePerMinute: number
  /** Shares the rate limit's counts between replicas; in process when null. */
  redis: Redis | null
  key: SigningKey
  issuer: string
  audience: string
  accessTokenTtlSeconds: number
}

/** Prefix that marks the challenge token, so it is never mistaken for an access token. */
const TEMP_PREFIX = 'temp_'

const tokenBody = {
  type: 'object',
  additionalProperties: false,
  required: ['email', 'password'],
  properties: {
    email: { type: 'string', minLength: 1, maxLength: 254 },
    password: { type: 'string', minLength: 1, maxLength: 128 }
  }
} as const

const verifyBody = {
  type: 'object',
  additionalProperties: false,
  required: ['temp_token'],
  properties: {
    temp_token: { type: 'string', minLength: 1, maxLength: 4096 },
    totp_code: totpCodeSchema,
    recovery_code: recoveryCodeSchema
  }
} as const

/** Only an unpaired UTF-16 surrogate matches with the `u` flag: a pair is one code point. */
const LONE_SURROGATE = /\p{Cs}/u

/**
 * Refuses an email or password that is not well-formed Unicode. Sent on as
 * UTF-8, each lone surrogate would become U+FFFD, so different passwords
 * would check out as the same one.
 */
function requireWellFormed (credentials: { email: string, password: string }): void {
  for (const [field, value] of Object.entries(credentials)) {
    if (LONE_SURROGATE.test(value)) {
      throw commonErrors.invalid_request({
        message: `The ${field} is not well-formed Unicode text: it holds an unpaired surrogate.`
      })
    }
  }
}

interface ChallengeClaims {
  aud: unknown
  sub: string
  cid: string
  token_use: string
}

/**
 * The two-call sign-in: password first (`/api/sso/token`), then, for a 2FA
 * account, the code (`/api/sso/verify-2fa`). Also publishes the JWKS that
 * every service verifies access tokens with.
 */
function nowSeconds (): number {
  return Math.floor(Date.now() / 1000)
}

export async function ssoRoutes (app: FastifyInstance, opts: SsoOptions): Promise<void> {
  const challengeAudience = `${opts.audience}:2fa`

  await app.register(fastifyJwt, {
    secret: { private: opts.key.privatePem, public: opts.key.publicPem },
    sign: { algorithm: TOKEN_ALGORITHM, kid: opts.key.kid, iss: opts.issuer },
    verify: { algorithms: [TOKEN_ALGORITHM], allowedIss: opts.issuer }
  })

  await app.register(fastifyCookie)
  if (opts.ratePerMinute > 0) {
    await app.register(fastifyRateLimit, {
      max: opts.ratePerMinute,
      timeWindow: 60_000,
      nameSpace: 'signin-rate:',
      ...(opts.redis ? { redis: opts.redis } : {}),
      // The sign-in routes only; the JWKS is read by services, not people.
      allowList: (request) => request.url.startsWith('/.well-known/'),
      errorResponseBuilder: (_request, context) => {
        const retryAfter = Math.ceil(context.ttl / 1000)
        return Object.assign(new Error('Too many requests; slow down.'), {
          statusCode: 429, code: 'rate_limited', retryAfter
        })
      }
    })
  }
  app.setErrorHandler(buildErrorHandler({ extraFields: { success: false } }))

  /**
   * Signs the access token. API clients get it in the body; a browser that
   * asked for a cookie session gets it in an HttpOnly cookie instead, so no
   * page script ever holds it.
   */
  function issueAccessToken (
    request: FastifyRequest,
    reply: FastifyReply,
    account: Account,
    amr: string[]
  ) {
    const ttl = opts.accessTokenTtlSeconds
    const token = app.jwt.sign({
      sub: account.id,
      aud: opts.audience,
      exp: nowSeconds() + ttl,
      email: account.email,
      roles: account.roles,
      amr,
      token_use: ACCESS_TOKEN_USE
    })

    if (wantsCookieSession(request)) {
      setSessionCookies(request, reply, token, ttl)
      return { success: true, token_type: 'cookie', expires_in: ttl }
    }
    return { success: true, token, token_type: 'Bearer', expires_in: ttl }
  }

  function readChallengeToken (tempToken: string): ChallengeClaims {
    if (!tempToken.startsWith(TEMP_PREFIX)) throw errors.invalid_temp_token()

    let claims: ChallengeClaims
    try {
      claims = app.jwt.verify<ChallengeClaims>(tempToken.slice(TEMP_PREFIX.length))
    } catch (error) {
      throw errors.invalid_temp_token({ cause: error })
    }
    // One verifier for every token this service signs (building one per call
    // re-parses the key); the audience and use tell a challenge token apart.
    const challenge = claims.aud === challengeAudience && claims.token_use === CHALLENGE_TOKEN_USE
    if (!challenge || typeof claims.cid !== 'string') throw errors.invalid_temp_token()
    return claims
  }

  app.post<{ Body: { email: string, password: string } }>('/api/sso/token', {
    schema: { body: tokenBody }
  }, async (request, reply) => {
    const { email, password } = request.body
    requireWellFormed({ email, password })

    const attempt = await opts.throttle.reserve(email)
    const account = await opts.users.verifyCredentials(email, password, request.id)
    if (!account) {
      const locked = await opts.throttle.failed(email, attempt)
      request.log.info({ failures: attempt, locked }, 'sign-in refused: invalid credentials')
      throw errors.invalid_credentials()
    }
    await opts.throttle.succeeded(email)
    request.userId = account.id

    const decision = await opts.totp.openChallenge(account.id, request.id)
    if (!decision.required) {
      request.log.info({ user_id: account.id }, 'signed in with password')
      return issueAccessToken(request, reply, account, ['pwd'])
    }

    const challengeToken = app.jwt.sign({
      sub: account.id,
      aud: challengeAudience,
      exp: nowSeconds() + decision.expires_in,
      cid: decision.challenge_id,
      token_use: CHALLENGE_TOKEN_USE
    })
    request.log.info({ user_id: account.id }, 'password accepted; 2fa challenge opened')
    return {
      requires_2fa: true,
      temp_token: TEMP_PREFIX + challengeToken,
      expires_in: decision.expires_in
    }
  })

  app.post<{ Body: ProofFields & { temp_token: string } }>('/api/sso/verify-2fa', {
    schema: { body: verifyBody }
  }, async (request, reply) => {
    const proof = proofFrom(request.body)
    const claims = readChallengeToken(request.body.temp_token)
    request.userId = claims.sub

    const verified = await opts.totp.verify(claims.cid, claims.sub, proof, request.id)
    const account = await opts.users.find(claims.sub, request.id)
    if (!account) throw errors.invalid_temp_token()

    request.log.info({ user_id: account.id, method: verified.method }, 'signed in with 2fa')
    return {
      ...issueAccessToken(request, reply, account, ['pwd', 'otp']),
      method: verified.method,
      recovery_codes_remaining: verified.recovery_codes_remaining
    }
  })

  // Signing out must work whatever the client did before: it issues nothing
  // and costs nothing, so it is not counted against the sign-in limit.
  app.post('/api/sso/logout', { config: { rateLimit: false } }, async (request, reply) => {
    clearSessionCookies(request, reply)
    return { success: true }
  })

  app.get('/.well-known/jwks.json', async (_request, reply) => {
    reply.header('cache-control', 'public, max-age=300')
    return { keys: [opts.key.jwk] }
  })
}
