import type { DecisionLog, Proof } from '@twofa/kit'
import { errors } from '../errors.js'
import type { Factor } from '../store/factors.js'
import { newRecoveryCodes } from './enrollment.js'
import { withLease } from './lease.js'
import { refusal, type ProofChecker } from './proofs.js'
import type { TwoFactorDeps } from './two-factor.js'

/** What changes a confirmed factor: the user's own settings, an admin, a deleted account. */
export function createFactorChanges (deps: TwoFactorDeps, proofs: ProofChecker) {
  const { factors, state, events } = deps

  async function requireFactor (userId: string): Promise<Factor> {
    const factor = await factors.get(userId)
    if (!factor) throw errors.not_enabled()
    return factor
  }

  /**
   * Removes the factor under the account's lease, only if it is still the
   * one `expected` names (any factor when none is named): of concurrent
   * removals exactly one gets it.
   */
  async function removeFactor (userId: string, expected?: Factor): Promise<Factor | null> {
    return await withLease(state, userId, async () => {
      const current = await factors.get(userId)
      if (!current || (expected && current.factorId !== expected.factorId)) return null
      return await factors.remove(userId)
    })
  }

  function announceDisabled (
    factor: Factor,
    reason: 'user' | 'admin' | 'user_deleted',
    actorId: string | null
  ) {
    events.emit('twofactor.disabled', {
      user_id: factor.userId,
      factor_id: factor.factorId,
      reason,
      actor_id: actorId
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

      if (!await removeFactor(userId, factor)) throw errors.not_enabled()
      announceDisabled(factor, 'user', userId)
      log.info({ user_id: userId }, '2fa disabled by the user')
      return { enabled: false as const }
    },

    /** Issues a fresh set of recovery codes; the old set stops working at once. */
    async regenerateRecoveryCodes (userId: string, totpCode: string, log: DecisionLog) {
      const factor = await requireFactor(userId)

      const outcome = await proofs.checkProof(factor, { totp_code: totpCode }, 'regenerate', log)
      if (!outcome.ok) throw refusal(outcome)

      const { codes, hashes } = newRecoveryCodes(deps, userId)
      const replaced = await withLease(state, userId, async () =>
        await factors.replaceRecoveryHashes(userId, factor.factorId, hashes))
      if (!replaced) throw errors.not_enabled()

      events.emit('twofactor.recovery_codes.regenerated', { user_id: userId, count: codes.length })
      log.info({ user_id: userId }, 'recovery codes regenerated')
      return { recovery_codes: codes }
    },

    /** An admin turns 2FA off for someone who lost both device and codes; it also lifts a lock. */
    async adminDisable (userId: string, adminId: string, log: DecisionLog) {
      const factor = await removeFactor(userId)
      await state.dropPending(userId)
      if (!factor) throw errors.not_enabled()

      await state.clearFailures(userId)
      announceDisabled(factor, 'admin', adminId)
      log.info({ user_id: userId, admin_id: adminId }, '2fa disabled by an admin')
      return { enabled: false as const }
    },

    /** Removes everything 2FA held for a deleted user; safe to repeat. */
    async removeForDeletedUser (userId: string, log: DecisionLog) {
      const factor = await removeFactor(userId)
      await state.dropPending(userId)
      if (!factor) return

      announceDisabled(factor, 'user_deleted', null)
      log.info({ user_id: userId }, '2fa removed for a deleted user')
    }
  }
}
