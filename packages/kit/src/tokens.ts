import { createPublicKey, type JsonWebKey } from 'node:crypto'
import fastifyCookie from '@fastify/cookie'
import fastifyJwt, { type TokenOrHeader } from '@fastify/jwt'
import type { FastifyInstance, FastifyRequest } from 'fastify'
import { commonErrors } from './errors.js'
import { assertCsrf, SESSION_COOKIE } from './session.js'

/** `token_use` of a full access token. */
export const ACCESS_TOKEN_USE = 'access'
/** `token_use` of the short-lived token that only opens the 2FA step. */
export const CHALLENGE_TOKEN_USE = '2fa_challenge'
/** Full and challenge tokens are signed with ES256 (RFC 7518 §3.4). */
export const TOKEN_ALGORITHM = 'ES256'

export interface AccessClaims {
  sub: string
  email: string
  roles: string[]
  /** Authentication methods per RFC 8176: `pwd`, then `otp` after a second factor. */
  amr: string[]
  token_use: string
}

export interface Principal {
  id: string
  email: string
  roles: string[]
  amr: string[]
}

declare module 'fastify' {
  interface FastifyRequest {
    principal: Principal | null
  }
  interface FastifyInstance {
    /** preHandler: a valid access token is required. */
    authenticate: (request: FastifyRequest, reply: FastifyReply) => Promise<void>
    /** preHandler: a valid access token carrying the admin role is required. */
    requireAdmin: (request: FastifyRequest, reply: FastifyReply) => Promise<void>
  }
}

/** Finds the PEM public key for a key id, or undefined when none is known. */
export type KeyResolver = (kid: string) => Promise<string | undefined>

interface JwkSet {
  keys: Array<JsonWebKey & { kid?: string }>
}

const REFRESH_INTERVAL_MS = 10_000

/** The usable signing keys of a JWKS document, as PEM by key id. */
function publicKeysOf (document: JwkSet | undefined): Map<string, string> {
  const keys = new Map<string, string>()

  for (const jwk of document?.keys ?? []) {
    if (!jwk.kid) continue
    try {
      const pem = createPublicKey({ key: jwk, format: 'jwk' })
        .export({ type: 'spki', format: 'pem' })
      keys.set(jwk.kid, pem.toString())
    } catch {
      // A key this process cannot read must not take the others down with it.
    }
  }
  return keys
}

/**
 * Resolves key ids through a JWKS document. Keys are cached; an unknown key id
 * triggers a refetch (at most one every ten seconds, shared by concurrent
 * callers) so a rotated-in key is picked up without a restart. While the
 * document cannot be fetched, lookups fail as unavailable, not as unknown.
 */
export function jwksKeyResolver (
  fetchJwks: () => Promise<unknown>,
  options: { now?: () => number } = {}
): KeyResolver {
  const now = options.now ?? Date.now
  let keys = new Map<string, string>()
  let lastFetch = -Infinity
  let lastError: unknown = null
  let pending: Promise<void> | null = null

  async function refresh (): Promise<void> {
    lastFetch = now()
    try {
      keys = publicKeysOf(await fetchJwks() as JwkSet)
      lastError = null
    } catch (error) {
      lastError = error
      throw error
    }
  }

  return async (kid) => {
    const known = keys.get(kid)
    if (known) return known

    if (now() - lastFetch < REFRESH_INTERVAL_MS && !pending) {
      if (lastError) throw commonErrors.dependency_unavailable({ cause: lastError })
      return undefined
    }

    pending ??= refresh().finally(() => { pending = null })
    try {
      await pending
    } catch (error) {
      throw commonErrors.dependency_unavailable({ cause: error })
    }
    return keys.get(kid)
  }
}

export interface AccessTokenOptions {
  resolveKey: KeyResolver
  issuer: string
  audience: string
  /** Admin routes refuse a token whose sign-in did not include a second factor. */
  adminNeedsSecondFactor?: boolean
}

/**
 * The credentials of an `Authorization: Bearer …` header; undefined without
 * one or for any other scheme. The scheme is case-insensitive (RFC 9110 §11.1).
 */
export function bearerCredentialsOf (header: string | undefined): string | undefined {
  if (header?.slice(0, 7).toLowerCase() !== 'bearer ') return undefined
  return header.slice(7)
}

/**
 * The token a request carries: the bearer header (API clients), else the
 * session cookie (browsers).
 */
function tokenOf (request: FastifyRequest): string | undefined {
  const header = request.headers.authorization
  if (typeof header === 'string') return bearerCredentialsOf(header)
  return request.cookies[SESSION_COOKIE]
}

/**
 * Teaches an app to verify access tokens: registers @fastify/jwt in verify
 * mode and decorates `authenticate` and `requireAdmin`. Every failure is a 401
 * with one code, whatever was wrong with the token. A token from the session
 * cookie also needs the CSRF header on state-changing requests.
 */
export async function registerAccessTokens (
  app: FastifyInstance,
  options: AccessTokenOptions
): Promise<void> {
  await app.register(fastifyCookie)
  await app.register(fastifyJwt, {
    secret: async (_request: FastifyRequest, token: TokenOrHeader) => {
      const kid = 'header' in token ? token.header.kid : undefined
      const pem = typeof kid === 'string' ? await options.resolveKey(kid) : undefined
      if (!pem) throw commonErrors.unauthorized()
      return pem
    },
    decode: { complete: true },
    verify: {
      algorithms: [TOKEN_ALGORITHM],
      allowedIss: options.issuer,
      allowedAud: options.audience,
      extractToken: tokenOf
    }
  })

  app.decorateRequest('principal', null)
  app.decorate('authenticate', async (request: FastifyRequest) => {
    request.principal = await principalFrom(request)
    request.userId = request.principal.id
  })
  app.decorate('requireAdmin', async (request: FastifyRequest) => {
    request.principal = await principalFrom(request)
    request.userId = request.principal.id
    if (!request.principal.roles.includes('admin')) throw commonErrors.forbidden()
    if (options.adminNeedsSecondFactor && !request.principal.amr.includes('otp')) {
      throw commonErrors.second_factor_required()
    }
  })
}

async function principalFrom (request: FastifyRequest): Promise<Principal> {
  let claims: AccessClaims
  try {
    // jwtVerify throws on every kind of bad token, including ones that make
    // fast-jwt fail in unexpected ways (a signature of the wrong length): all
    // of them are the client's problem, not ours.
    claims = await request.jwtVerify<AccessClaims>()
  } catch (error) {
    if (error instanceof Error && (error as { statusCode?: number }).statusCode === 503) throw error
    throw commonErrors.unauthorized({ cause: error })
  }

  if (claims.token_use !== ACCESS_TOKEN_USE || typeof claims.sub !== 'string') {
    throw commonErrors.unauthorized()
  }
  if (request.headers.authorization === undefined) assertCsrf(request)

  return {
    id: claims.sub,
    email: claims.email,
    roles: Array.isArray(claims.roles) ? claims.roles : [],
    amr: Array.isArray(claims.amr) ? claims.amr : []
  }
}

/** Reads a JWKS document over HTTP, bounded in time. */
export async function fetchJwks (url: string): Promise<unknown> {
  const response = await fetch(url, { signal: AbortSignal.timeout(3000) })
  if (!response.ok) throw new Error(`JWKS answered ${response.status}`)
  return await response.json()
}
