import type { FastifyInstance } from 'fastify'
import type { Users } from '../domain/users.js'
import { errors } from '../errors.js'
import { emailKeyOf } from '../store/users.js'
import { idParams, lookupEmail, password, profile } from './schemas.js'

const credentialsBody = {
  type: 'object',
  additionalProperties: false,
  required: ['email', 'password'],
  properties: { email: lookupEmail, password }
} as const

const emailQuery = {
  type: 'object',
  additionalProperties: false,
  required: ['email'],
  properties: { email: lookupEmail }
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

  // The ops command line finds the account it acts on by email.
  app.get<{ Querystring: { email: string } }>('/internal/users', {
    schema: { querystring: emailQuery, response: { 200: profile } }
  }, async (request) => {
    const key = emailKeyOf(request.query.email)
    const { users: [first] } = await users.list(request.query.email, 0, 1)
    // The list matches by prefix in email order, so an exact match comes first.
    if (!first || emailKeyOf(first.email) !== key) throw errors.user_not_found()

    request.userId = first.id
    return first
  })

  app.get<{ Params: { id: string } }>('/internal/users/:id', {
    schema: { params: idParams, response: { 200: profile } }
  }, async (request) => {
    return await users.profile(request.params.id)
  })
}
