import { randomBytes, timingSafeEqual } from 'node:crypto'
import type { FastifyReply, FastifyRequest } from 'fastify'
import type {} from '@fastify/cookie'
import { commonErrors } from './errors.js'

/**
 * Browser sessions. The access token lives in an HttpOnly cookie that page
 * scripts cannot read; a second, readable cookie holds a random CSRF value
 * that scripts send back in a header on every state-changing request (the
 * double-submit pattern). Both are SameSite=Strict.
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
  return request.headers[SESSION_MODE_HEADER] === 'cookie'
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
  const csrfToken = randomBytes(24).toString('base64url')
  reply.setCookie(CSRF_COOKIE, csrfToken, { ...common, httpOnly: false })
}

export function clearSessionCookies (request: FastifyRequest, reply: FastifyReply): void {
  const common = { path: '/', sameSite: 'strict' as const, secure: secureFor(request) }
  reply.clearCookie(SESSION_COOKIE, { ...common, httpOnly: true })
  reply.clearCookie(CSRF_COOKIE, common)
}

/**
 * Refuses a state-changing request authenticated by the session cookie
 * unless it carries the CSRF value from the readable cookie. A cross-site
 * page can make the browser send the cookie, but cannot read it to copy it.
 */
export function assertCsrf (request: FastifyRequest): void {
  if (SAFE_METHODS.has(request.method)) return

  const expected = request.cookies?.[CSRF_COOKIE] ?? ''
  const given = request.headers[CSRF_HEADER]
  const presented = typeof given === 'string' ? given : ''
  const ok = expected.length > 0 &&
    presented.length === expected.length &&
    timingSafeEqual(Buffer.from(presented), Buffer.from(expected))
  if (!ok) throw commonErrors.csrf_failed()
}
