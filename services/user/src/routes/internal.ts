import type { FastifyInstance } from 'fastify'
import type { Users } from '../domain/users.js'
import { errors } from '../errors.js'
import { idParams, lookupEmail, password, profile } from './schemas.js'

const credentialsBody = {
  type: 'object',
  additionalProperties: false,
  required: ['email', 'password'],
  properties: { email: lookupEmail, password }
} as const

/** What the auth service asks the user service over HTTP: is this password right. */
export async function internalRoutes (app: FastifyInstance, opts: { users: Users }): Promise<void> {
  const { users } = opts

  app.post<{ Body: { email: string, password: string } }>('/internal/credentials/verify', {
    schema: { body: credentialsBody }
  }, async (request) => {
    const user = await users.verifyCredentials(request.body.email, request.body.password)
    if (!user) {
      request.log.info('credentials refused')
      throw errors.invalid_credentials()
    }

    request.userId = user.id
    return { user: { id: user.id, email: user.email, name: user.name, roles: user.roles } }
  })

  app.get<{ Params: { id: string } }>('/internal/users/:id', {
    schema: { params: idParams, response: { 200: profile } }
  }, async (request) => {
    return await users.profile(request.params.id)
  })
}
