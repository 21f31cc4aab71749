import type { FastifyInstance } from 'fastify'
import type { TwoFactor } from '../domain/two-factor.js'
import { proofFrom, type ProofFields } from '@twofa/kit'
import { proofBody } from './schemas.js'

const id = { type: 'string', minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9_-]+$' } as const

const openBody = {
  type: 'object',
  additionalProperties: false,
  required: ['user_id'],
  properties: { user_id: id }
} as const

const verifyBody = {
  type: 'object',
  additionalProperties: false,
  required: ['challenge_id', 'user_id'],
  properties: { challenge_id: id, user_id: id, ...proofBody.properties }
} as const

/**
 * What the auth service asks, over HTTP because the answer must be right
 * now: does this user need a second step, and is this code right.
 */
export async function internalRoutes (
  app: FastifyInstance,
  opts: { twoFactor: TwoFactor }
): Promise<void> {
  const { twoFactor } = opts

  app.post<{ Body: { user_id: string } }>('/internal/challenges', {
    schema: { body: openBody }
  }, async (request) => {
    request.userId = request.body.user_id
    return await twoFactor.openChallenge(request.body.user_id)
  })

  app.post<{
    Body: ProofFields & { challenge_id: string, user_id: string }
  }>('/internal/challenges/verify', {
    schema: { body: verifyBody }
  }, async (request) => {
    const { challenge_id: challengeId, user_id: userId } = request.body
    request.userId = userId

    const proof = proofFrom(request.body)
    const verified = await twoFactor.verifyChallenge(challengeId, userId, proof, request.log)
    return {
      user_id: verified.userId,
      method: verified.method,
      recovery_codes_remaining: verified.method === 'recovery_code'
        ? verified.recoveryCodesRemaining
        : undefined
    }
  })
}
