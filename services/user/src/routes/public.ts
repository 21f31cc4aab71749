import fastifyRateLimit from '@fastify/rate-limit'
import type { FastifyInstance } from 'fastify'
import type { Users } from '../domain/users.js'
import { displayName, email, newPassword, profile } from './schemas.js'

const registerBody = {
  type: 'object',
  additionalProperties: false,
  required: ['email', 'password', 'name'],
  properties: {
    email,
    // NIST SP 800-63B: at least 8 characters; the cap keeps hashing bounded.
    password: newPassword,
    name: displayName
  }
} as const

interface RegisterBody {
  email: string
  password: string
  name: string
}

/** Sign-up and the signed-in user's own profile. */
export async function publicRoutes (
  app: FastifyInstance,
  opts: { users: Users, registrationRatePerMinute: number }
): Promise<void> {
  const { users } = opts

  // Each sign-up costs an argon2id hash: a flood of them from one address
  // would slow every sign-in. Counted in this process (the user service
  // keeps no Redis), so the limit is per replica.
  await app.register(fastifyRateLimit, { global: false })
  const limit = opts.registrationRatePerMinute > 0
    ? { rateLimit: { max: opts.registrationRatePerMinute, timeWindow: 60_000 } }
    : {}

  app.post<{ Body: RegisterBody }>('/api/users', {
    config: limit,
    schema: { body: registerBody, response: { 201: profile } }
  }, async (request, reply) => {
    const { email: address, password, name } = request.body
    const created = await users.register(address, password, name, request.log)
    request.userId = created.id
    return await reply.code(201).send(created)
  })

  app.get('/api/users/me', {
    preHandler: app.authenticate,
    schema: { response: { 200: profile } }
  }, async (request) => {
    return await users.profile(request.userId as string)
  })
}
