import { AppError, expectStatus, type Transport } from '@twofa/kit'
import { errors } from '../errors.js'

export type ChallengeDecision =
  | { required: false }
  | { required: true, challenge_id: string, expires_in: number }

export interface Verified {
  user_id: string
  method: 'totp' | 'recovery_code'
  recovery_codes_remaining?: number
}

export type Proof = { totp_code: string } | { recovery_code: string }

/** The answers of the totp service that are the client's to know, mapped onto our errors. */
function refusal (status: number, body: unknown): AppError {
  const { error, ...rest } = (body ?? {}) as {
    error?: string,
    message?: string,
    [key: string]: unknown
  }
  const extra: Record<string, unknown> = {}
  if (typeof rest.attempts_remaining === 'number') {
    extra.attempts_remaining = rest.attempts_remaining
  }
  if (typeof rest.retry_after === 'number') extra.retry_after = rest.retry_after

  if (status === 401 && error === 'invalid_code') {
    // A code that was right but already used says so, so the person waits for the next one.
    if (rest.reason === 'code_already_used') {
      extra.reason = rest.reason
      const message = 'This code was already used; wait for the next one.'
      return errors.invalid_code({ extra, message })
    }
    return errors.invalid_code({ extra })
  }
  if (status === 429 && error === 'account_locked') return errors.account_locked({ extra })
  if (status === 429) return errors.too_many_attempts({ extra })
  return errors.invalid_temp_token()
}

/** The totp service's internal API, as the auth service needs it. */
export function createTotpClient (transport: Transport) {
  return {
    /** Asks whether this user needs a second step and, if so, opens the challenge. */
    async openChallenge (userId: string, requestId: string): Promise<ChallengeDecision> {
      const response = await transport({
        method: 'POST',
        path: '/internal/challenges',
        body: { user_id: userId },
        requestId
      })
      expectStatus(response, 200)
      return response.body as ChallengeDecision
    },

    async verify (
      challengeId: string,
      userId: string,
      proof: Proof,
      requestId: string
    ): Promise<Verified> {
      const response = await transport({
        method: 'POST',
        path: '/internal/challenges/verify',
        body: { challenge_id: challengeId, user_id: userId, ...proof },
        requestId
      })
      expectStatus(response, 200, 401, 404, 429)
      if (response.status !== 200) throw refusal(response.status, response.body)
      return response.body as Verified
    }
  }
}

export type TotpClient = ReturnType<typeof createTotpClient>
