import { createHash, timingSafeEqual } from 'node:crypto'
import type { FastifyInstance } from 'fastify'
import { commonErrors } from './errors.js'
import { bearerCredentialsOf } from './tokens.js'

function digest (value: string): Buffer {
  return createHash('sha256').update(value).digest()
}

/**
 * Guards every route of an internal app with the service credential. Both
 * sides are hashed first so the comparison takes the same time whatever the
 * length or content of the presented value.
 */
export function requireServiceToken (app: FastifyInstance, token: string): void {
  const expected = digest(token)

  app.addHook('onRequest', async (request) => {
    if (request.url === '/healthz' || request.url === '/readyz') return

    const presented = bearerCredentialsOf(request.headers.authorization) ?? ''

    if (!timingSafeEqual(digest(presented), expected)) {
      throw commonErrors.unauthorized({ message: 'A valid service credential is required.' })
    }
  })
}
