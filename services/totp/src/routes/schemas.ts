import { commonErrors } from '@twofa/kit'
import type { Proof } from '../domain/two-factor.js'

/**
 * A TOTP code is a string of exactly six digits end to end: a JSON number
 * would lose leading zeros (one code in ten starts with 0), so it is refused.
 */
export const totpCode = { type: 'string', pattern: '^[0-9]{6}$' } as const

/** Recovery codes are accepted in any case, with or without spaces and dashes. */
export const recoveryCode = { type: 'string', minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9 -]+$' } as const

export const proofBody = {
  type: 'object',
  additionalProperties: false,
  properties: { totp_code: totpCode, recovery_code: recoveryCode }
} as const

export interface ProofFields {
  totp_code?: string
  recovery_code?: string
}

/** Exactly one of the two fields; anything else is the client's mistake. */
export function proofFrom (body: ProofFields): Proof {
  const { totp_code: totp, recovery_code: recovery } = body
  if (totp !== undefined && recovery === undefined) return { totp_code: totp }
  if (recovery !== undefined && totp === undefined) return { recovery_code: recovery }
  throw commonErrors.invalid_request({ message: 'Give exactly one of totp_code and recovery_code.' })
}

export const errorResponse = {
  type: 'object',
  properties: { error: { type: 'string' }, message: { type: 'string' } },
  additionalProperties: true
} as const
