import { randomUUID } from 'node:crypto'
import type { DecisionLog, Proof } from '@twofa/kit'
import { errors } from '../errors.js'
import { refusal, type Method, type ProofChecker } from './proofs.js'
import type { TwoFactorDeps } from './two-factor.js'

export interface Verified {
  userId: string
  method: Method
  /** After a recovery code, how many are left; -1 after a TOTP code. */
  recoveryCodesRemaining: number
}

/** The second step of a login: a challenge opened after the password, answered with a code. */
export function createChallenges (deps: TwoFactorDeps, proofs: ProofChecker) {
  const { factors, state, settings } = deps
  const max = settings.challengeMaxAttempts

  return {
    /** Opens a challenge when the user has 2FA; the decision is made here, now. */
    async openChallenge (userId: string) {
      if (!await factors.get(userId)) return { required: false as const }

      const challengeId = randomUUID()
      await state.openChallenge(challengeId, userId, settings.challengeTtlSeconds)
      return {
        required: true as const,
        challenge_id: challengeId,
        expires_in: settings.challengeTtlSeconds
      }
    },

    /**
     * Answers a challenge. Each call spends one of the challenge's attempts
     * before the code is looked at, so concurrent guesses cannot exceed the
     * budget; the challenge ends with the first success.
     */
    async verifyChallenge (
      challengeId: string,
      userId: string,
      proof: Proof,
      log: DecisionLog
    ): Promise<Verified> {
      await proofs.assertNotLocked(userId)

      const reservation = await state.reserveChallengeAttempt(challengeId, max)
      if (reservation.status === 'missing' || reservation.owner !== userId) {
        throw errors.challenge_not_found()
      }
      if (reservation.status === 'exhausted') throw errors.too_many_attempts()

      const factor = await factors.get(userId)
      if (!factor) {
        // 2FA was turned off after the password step; the challenge is void.
        await state.consumeChallenge(challengeId)
        throw errors.challenge_not_found()
      }

      const outcome = await proofs.checkProof(factor, proof, 'login', log)
      if (!outcome.ok) throw refusal(outcome, { attempts_remaining: max - reservation.attempt })

      if (!await state.consumeChallenge(challengeId)) throw errors.challenge_not_found()
      return {
        userId,
        method: outcome.method,
        recoveryCodesRemaining: outcome.recoveryCodesRemaining
      }
    }
  }
}
