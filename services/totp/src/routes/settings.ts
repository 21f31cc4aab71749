import type { FastifyInstance } from 'fastify'
import type { TwoFactor } from '../domain/two-factor.js'
import { proofFrom, totpCodeSchema, type ProofFields } from '@twofa/kit'
import { proofBody } from './schemas.js'

const statusResponse = {
  type: 'object',
  properties: {
    enabled: { type: 'boolean' },
    enabled_at: { type: ['string', 'null'] },
    recovery_codes_remaining: { type: 'integer' }
  }
} as const

const codesResponse = {
  type: 'object',
  properties: {
    enabled: { type: 'boolean' },
    recovery_codes: { type: 'array', items: { type: 'string' } }
  }
} as const

const codeOnlyBody = {
  type: 'object',
  additionalProperties: false,
  required: ['totp_code'],
  properties: { totp_code: totpCodeSchema }
} as const

/** The user's own 2FA settings: status, setup, confirm, turn off, new recovery codes. */
export async function settingsRoutes (
  app: FastifyInstance,
  opts: { twoFactor: TwoFactor }
): Promise<void> {
  const { twoFactor } = opts
  const principalOf = (request: { principal: { id: string, email: string } | null }) => {
    return request.principal as { id: string, email: string }
  }

  app.addHook('preHandler', app.authenticate)

  app.get('/api/2fa/status', { schema: { response: { 200: statusResponse } } }, async (request) => {
    return await twoFactor.status(principalOf(request).id)
  })

  app.post('/api/2fa/setup', async (request) => {
    const principal = principalOf(request)
    const enrollment = await twoFactor.startEnrollment(principal.id, principal.email)
    request.log.info({ user_id: principal.id }, '2fa setup started')
    return enrollment
  })

  app.post<{ Body: { totp_code: string } }>('/api/2fa/enable', {
    schema: { body: codeOnlyBody, response: { 200: codesResponse } }
  }, async (request) => {
    return await twoFactor.confirmEnrollment(
      principalOf(request).id,
      request.body.totp_code,
      request.log
    )
  })

  app.post<{ Body: ProofFields }>('/api/2fa/disable', {
    schema: { body: proofBody }
  }, async (request) => {
    return await twoFactor.disable(principalOf(request).id, proofFrom(request.body), request.log)
  })

  app.post<{ Body: { totp_code: string } }>('/api/2fa/recovery-codes', {
    schema: { body: codeOnlyBody, response: { 200: codesResponse } }
  }, async (request) => {
    return await twoFactor.regenerateRecoveryCodes(
      principalOf(request).id,
      request.body.totp_code,
      request.log
    )
  })
}
