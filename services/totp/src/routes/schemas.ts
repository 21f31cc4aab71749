import { recoveryCodeSchema, totpCodeSchema } from '@twofa/kit'

export const proofBody = {
  type: 'object',
  additionalProperties: false,
  properties: { totp_code: totpCodeSchema, recovery_code: recoveryCodeSchema }
} as const
