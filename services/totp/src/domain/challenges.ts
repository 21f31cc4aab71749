import { randomUUID } from 'node:crypto'
import type { DecisionLog, Proof } from '@twofa/kit'
import { errors } from '../errors.js'
import { locked, refusal, type Method, type ProofChecker } from './proofs.js'
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
     * and one of the account's before the code is looked at (one Redis
     * script), so concurrent guesses cannot exceed either budget; the first
     * success ends the challenge and gives the account its budget back in one
     * more step.
     */
    async verifyChallenge (
      challengeId: string,
      userId: string,
      proof: Proof,
      log: DecisionLog
    ): Promise<Verified> {
      const begun = await state.beginChallengeAttempt(challengeId, userId, max, settings.lockout)
      if (begun.status === 'missing') throw errors.challenge_not_found()
      if (begun.status === 'exhausted') throw errors.too_many_attempts()
      if (begun.status === 'locked') throw locked(begun.retryAfterMs)

      const factor = await factors.get(userId)
      if (!factor) {
        // 2FA was turned off after the password step; the challenge is void.
        await state.consumeChallenge(challengeId, userId)
        throw errors.challenge_not_found()
      }

      // The first good answer ends the challenge; of two racing, the other is refused.
      const finish = async () => await state.finishChallenge(challengeId, userId)
      const outcome = await proofs.checkReservedProof(
        factor, proof, 'login', log, begun.accountAttempt, finish
      )
      if (!outcome.ok && outcome.reason === 'superseded') throw errors.challenge_not_found()
      if (!outcome.ok) throw refusal(outcome, { attempts_remaining: max - begun.attempt })
      return {
        userId,
        method: outcome.method,
        recoveryCodesRemaining: outcome.recoveryCodesRemaining
      }
    }
  }
}
