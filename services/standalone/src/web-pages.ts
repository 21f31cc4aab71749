import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import fastifyStatic from '@fastify/static'
import type { FastifyInstance } from 'fastify'
import type { Logger } from 'pino'

/**
 * The security headers of every answer, the same as the gateway's
 * (deploy/gateway/nginx.conf). The pages use no inline script, style or event
 * handler, so the policy needs no 'unsafe-inline'; the QR code is an image
 * with a data: URL.
 */
export const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'content-security-policy': [
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    "connect-src 'self'",
    "form-action 'self'",
    "base-uri 'none'",
    "frame-ancestors 'none'"
  ].join('; '),
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'x-content-type-options': 'nosniff'
}

/** Where `pnpm run build` puts the pages: services/web/dist. */
export const DEFAULT_WEB_ROOT = fileURLToPath(new URL('../../web/dist/', import.meta.url))

/**
 * Serves the web pages at / (GET and HEAD of the built files only; every
 * other path stays the API's) and adds the security headers to every answer.
 * A header a route set itself is kept.
 */
export async function registerWebPages (
  app: FastifyInstance,
  root: string,
  log: Logger
): Promise<void> {
  app.addHook('onSend', async (_request, reply, payload) => {
    for (const [name, value] of Object.entries(SECURITY_HEADERS)) {
      if (!reply.hasHeader(name)) reply.header(name, value)
    }
    return payload
  })

  if (!existsSync(join(root, 'index.html'))) {
    log.warn({ root }, 'web pages not found (pnpm run build makes them); serving the API only')
    return
  }
  // Routes for the files present at start, not a catch-all: unknown paths
  // keep the API's JSON 404.
  await app.register(fastifyStatic, { root, wildcard: false })
}
