import { createHash, timingSafeEqual } from 'node:crypto'
import type { FastifyReply, FastifyRequest } from 'fastify'
import type {} from '@fastify/cookie'
import { commonErrors } from './errors.js'

/**
 * Browser sessions. The access token lives in an HttpOnly cookie that page
 * scripts cannot read; a second, readable cookie holds a CSRF value that
 * scripts send back in a header on every state-changing request. Both are
 * SameSite=Strict.
 *
 * The CSRF value is derived from the session token (a keyed hash, below), not
 * random: a plain double-submit check accepts any cookie that matches its
 * header, so whoever can plant a cookie for the site (a sibling subdomain,
 * say) could pass it. A value bound to the session cannot be planted without
 * knowing the HttpOnly session token itself, and every service can check it
 * without a shared secret or a store.
 */
export const SESSION_COOKIE = 'twofa_session'
export const CSRF_COOKIE = 'twofa_csrf'
export const CSRF_HEADER = 'x-csrf-token'
/** A client asks for a cookie session instead of a token in the body with this header. */
export const SESSION_MODE_HEADER = 'x-session-mode'

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS'])

/** Secure everywhere except plain-HTTP localhost, where browsers would drop it. */
function secureFor (request: FastifyRequest): boolean {
  const host = request.hostname.replace(/:\d+$/, '')
  const local = host === 'localhost' || host === '127.0.0.1' || host === '[::1]'
  return request.protocol === 'https' || !local
}

/** True when the client asked for a cookie session. */
export function wantsCookieSession (request: FastifyRequest): boolean {
  const mode = request.headers[SESSION_MODE_HEADER]
  return typeof mode === 'string' && mode.trim().toLowerCase() === 'cookie'
}

export function setSessionCookies (
  request: FastifyRequest,
  reply: FastifyReply,
  token: string,
  maxAgeSeconds: number
): void {
  const common = {
    path: '/',
    sameSite: 'strict' as const,
    secure: secureFor(request),
    maxAge: maxAgeSeconds
  }
  reply.setCookie(SESSION_COOKIE, token, { ...common, httpOnly: true })
  reply.setCookie(CSRF_COOKIE, csrfTokenFor(token), { ...common, httpOnly: false })
}

export function clearSessionCookies (request: FastifyRequest, reply: FastifyReply): void {
  const common = { path: '/', sameSite: 'strict' as const, secure: secureFor(request) }
  reply.clearCookie(SESSION_COOKIE, { ...common, httpOnly: true })
  reply.clearCookie(CSRF_COOKIE, common)
}

/** The CSRF value of a session: a hash of its token under a fixed label, base64url. */
export function csrfTokenFor (sessionToken: string): string {
  return createHash('sha256').update('twofa-csrf-v1\0').update(sessionToken)
    .digest('base64url')
}

/**
 * Refuses a state-changing request authenticated by the session cookie
 * unless its CSRF header holds the value bound to that session. A
 * cross-site page can make the browser send the cookie, but can neither read
 * the CSRF cookie nor compute the value without the HttpOnly session token.
 */
export function assertCsrf (request: FastifyRequest): void {
  if (SAFE_METHODS.has(request.method)) return

  const session = request.cookies?.[SESSION_COOKIE] ?? ''
  const given = request.headers[CSRF_HEADER]
  if (session.length === 0 || typeof given !== 'string') throw commonErrors.csrf_failed()

  // Compared as bytes of equal length: the header may hold any characters,
  // and timingSafeEqual throws on buffers of different lengths.
  const expected = Buffer.from(csrfTokenFor(session), 'utf8')
  const presented = Buffer.from(given, 'utf8')
  const ok = presented.length === expected.length && timingSafeEqual(presented, expected)
  if (!ok) throw commonErrors.csrf_failed()
}
