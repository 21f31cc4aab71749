import type { DecisionLog, Proof } from '@twofa/kit'
import { createEnvelope } from '@twofa/events'
import { errors } from '../errors.js'
import type { Factor } from '../store/factors.js'
import { newRecoveryCodes } from './enrollment.js'
import { withLease } from './lease.js'
import { refusal, type ProofChecker } from './proofs.js'
import type { TwoFactorDeps } from './two-factor.js'

/** What changes a confirmed factor: the user's own settings, an admin, a deleted account. */
export function createFactorChanges (deps: TwoFactorDeps, proofs: ProofChecker) {
  const { factors, state } = deps

  async function requireFactor (userId: string): Promise<Factor> {
    const factor = await factors.get(userId)
    if (!factor) throw errors.not_enabled()
    return factor
  }

  /**
   * Removes the factor under the account's lease, only if it is still the
   * one `expected` names (any factor when none is named), together with the
   * `twofactor.disabled` event: of concurrent removals exactly one gets it.
   */
  async function removeFactor (
    userId: string,
    why: { reason: 'user' | 'admin' | 'user_deleted', actorId: string | null },
    expected?: Factor
  ): Promise<Factor | null> {
    return await withLease(state, userId, async () => {
      const current = await factors.get(userId)
      if (!current || (expected && current.factorId !== expected.factorId)) return null

      const disabled = createEnvelope('twofactor.disabled', {
        user_id: userId,
        factor_id: current.factorId,
        reason: why.reason,
        actor_id: why.actorId
      })
      return await factors.remove(userId, current.factorId, disabled)
    })
  }

  return {
    async status (userId: string) {
      const factor = await factors.get(userId)
      return {
        enabled: factor !== null,
        enabled_at: factor ? factor.enabledAt.toISOString() : null,
        recovery_codes_remaining: factor ? factor.recoveryHashes.length : 0
      }
    },

    /** Turns 2FA off from the user's own settings, with a current code or a recovery code. */
    async disable (userId: string, proof: Proof, log: DecisionLog) {
      const factor = await requireFactor(userId)

      const outcome = await proofs.checkProof(factor, proof, 'disable', log)
      if (!outcome.ok) throw refusal(outcome)

      const removed = await removeFactor(userId, { reason: 'user', actorId: userId }, factor)
      if (!removed) throw errors.not_enabled()
      log.info({ user_id: userId }, '2fa disabled by the user')
      return { enabled: false as const }
    },

    /** Issues a fresh set of recovery codes; the old set stops working at once. */
    async regenerateRecoveryCodes (userId: string, totpCode: string, log: DecisionLog) {
      const factor = await requireFactor(userId)

      const outcome = await proofs.checkProof(factor, { totp_code: totpCode }, 'regenerate', log)
      if (!outcome.ok) throw refusal(outcome)

      const { codes, hashes } = newRecoveryCodes(deps, userId)
      const regenerated = createEnvelope('twofactor.recovery_codes.regenerated', {
        user_id: userId,
        count: codes.length
      })
      const replaced = await withLease(state, userId, async () =>
        await factors.replaceRecoveryHashes(userId, factor.factorId, hashes, regenerated))
      if (!replaced) throw errors.not_enabled()

      log.info({ user_id: userId }, 'recovery codes regenerated')
      return { recovery_codes: codes }
    },

    /** An admin turns 2FA off for someone who lost both device and codes; it also lifts a lock. */
    async adminDisable (userId: string, adminId: string, log: DecisionLog) {
      // Otherwise an admin's stolen session could drop the admin's own second
      // factor without one: the admin route asks for no code.
      if (userId === adminId) throw errors.own_account()
      const factor = await removeFactor(userId, { reason: 'admin', actorId: adminId })
      await state.dropPending(userId)
      if (!factor) throw errors.not_enabled()

      await state.clearFailures(userId)
      log.info({ user_id: userId, admin_id: adminId }, '2fa disabled by an admin')
      return { enabled: false as const }
    },

    /** Removes everything 2FA held for a deleted user; safe to repeat. */
    async removeForDeletedUser (userId: string, log: DecisionLog) {
      await withLease(state, userId, async () => { await factors.markDeleted(userId) })
      const factor = await removeFactor(userId, { reason: 'user_deleted', actorId: null })
      await state.dropPending(userId)
      if (!factor) return

      log.info({ user_id: userId }, '2fa removed for a deleted user')
    }
  }
}
