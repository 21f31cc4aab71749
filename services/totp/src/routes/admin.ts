import type { FastifyInstance } from 'fastify'
import type { TwoFactor } from '../domain/two-factor.js'

const userIdParams = {
  type: 'object',
  required: ['id'],
  properties: { id: { type: 'string', minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9_-]+$' } }
} as const

/** Account recovery by an admin: 2FA off for a user who lost device and codes. */
export async function adminRoutes (
  app: FastifyInstance,
  opts: { twoFactor: TwoFactor }
): Promise<void> {
  app.addHook('preHandler', app.requireAdmin)

  app.delete<{ Params: { id: string } }>('/api/admin/users/:id/2fa', {
    schema: { params: userIdParams }
  }, async (request) => {
    const adminId = (request.principal as { id: string }).id
    return await opts.twoFactor.adminDisable(request.params.id, adminId, request.log)
  })
}
