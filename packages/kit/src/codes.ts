import { commonErrors } from './errors.js'

/**
 * A TOTP code is a string of exactly six digits end to end: a JSON number
 * would lose leading zeros (one code in ten starts with 0), so it is refused.
 */
export const totpCodeSchema = { type: 'string', pattern: '^[0-9]{6}$' } as const

/** Recovery codes are accepted in any case, with or without spaces and dashes. */
export const recoveryCodeSchema = {
  type: 'string',
  minLength: 1,
  maxLength: 64,
  pattern: '^[A-Za-z0-9 -]+$'
} as const

/** A second factor as the user presents it: exactly one of the two. */
export type Proof =
  | { totp_code: string, recovery_code?: undefined }
  | { recovery_code: string, totp_code?: undefined }

export interface ProofFields {
  totp_code?: string
  recovery_code?: string
}

/** Exactly one of the two fields; anything else is the client's mistake. */
export function proofFrom (body: ProofFields): Proof {
  const { totp_code: totp, recovery_code: recovery } = body
  if (totp !== undefined && recovery === undefined) return { totp_code: totp }
  if (recovery !== undefined && totp === undefined) return { recovery_code: recovery }
  throw commonErrors.invalid_request({
    message: 'Give exactly one of totp_code and recovery_code.'
  })
}
