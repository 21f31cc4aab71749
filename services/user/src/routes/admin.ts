import type { FastifyInstance } from 'fastify'
import { commonErrors } from '@twofa/kit'
import type { Users } from '../domain/users.js'
import { idParams, profile } from './schemas.js'

const DEFAULT_PAGE = 20

/** Query values arrive as strings: the patterns say which numbers are allowed. */
const listQuery = {
  type: 'object',
  additionalProperties: false,
  properties: {
    email: { type: 'string', maxLength: 254 },
    offset: { type: 'string', pattern: '^[0-9]{1,6}$' },
    limit: {
      type: 'string',
      pattern: '^([1-9][0-9]?|100)$',
      description: `users per page, 1 to 100; ${DEFAULT_PAGE} when absent`
    }
  }
} as const

interface ListQuery {
  email?: string
  offset?: string
  limit?: string
}

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
    const limit = Number(request.query.limit ?? DEFAULT_PAGE)
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
