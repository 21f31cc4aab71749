import type { FastifyInstance } from 'fastify'
import { commonErrors } from '@twofa/kit'
import type { Users } from '../domain/users.js'
import { idParams, profile } from './schemas.js'

const listQuery = {
  type: 'object',
  additionalProperties: false,
  properties: {
    email: { type: 'string', maxLength: 254 },
    offset: { type: 'string', pattern: '^[0-9]{1,6}$' },
    limit: { type: 'string', pattern: '^[0-9]{1,3}$' }
  }
} as const

interface ListQuery {
  email?: string
  offset?: string
  limit?: string
}

const MAX_PAGE = 100

/** User administration: list and search, look at one user, delete one. */
export async function adminRoutes (app: FastifyInstance, opts: { users: Users }): Promise<void> {
  const { users } = opts
  app.addHook('preHandler', app.requireAdmin)
  // A token outlives changes to its account: the account must still exist
  // and still be an admin, whatever the token says.
  app.addHook('preHandler', async (request) => {
    if (!await users.isAdmin(request.userId as string)) throw commonErrors.forbidden()
  })

  app.get<{ Querystring: ListQuery }>('/api/admin/users', {
    schema: {
      querystring: listQuery,
      response: {
        200: {
          type: 'object',
          properties: {
            users: { type: 'array', items: profile },
            next_offset: { type: ['integer', 'null'] }
          }
        }
      }
    }
  }, async (request) => {
    const offset = Number(request.query.offset ?? 0)
    const limit = Math.min(Math.max(Number(request.query.limit ?? 20), 1), MAX_PAGE)
    return await users.list(request.query.email || undefined, offset, limit)
  })

  app.get<{ Params: { id: string } }>('/api/admin/users/:id', {
    schema: { params: idParams, response: { 200: profile } }
  }, async (request) => {
    return await users.profile(request.params.id)
  })

  app.delete<{ Params: { id: string } }>('/api/admin/users/:id', {
    schema: { params: idParams }
  }, async (request) => {
    await users.remove(request.params.id, request.userId as string, request.log)
    return { deleted: true }
  })
}
