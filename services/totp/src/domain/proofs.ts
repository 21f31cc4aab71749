import type { DecisionLog, Proof } from '@twofa/kit'
import { errors } from '../errors.js'
import type { Factor } from '../store/factors.js'
import { normaliseRecoveryCode } from './recovery-codes.js'
import { matchTimeStep, TOTP_PERIOD_SECONDS } from './totp-codes.js'
import type { TwoFactorDeps } from './two-factor.js'

export type Method = 'totp' | 'recovery_code'
export type Purpose = 'login' | 'enable' | 'disable' | 'regenerate'

/**
 * How long a recovery code's claim outlives its use. The factor no longer
 * lists a used code, so the claim only has to cover the moments in which
 * concurrent requests can still see it there.
 */
const RECOVERY_CLAIM_TTL_SECONDS = 24 * 3600

export type ProofOutcome =
  | { ok: true, method: Method, recoveryCodesRemaining: number }
  | { ok: false, method: Method, reason: 'invalid_code' | 'replayed' }

/**
 * Checking a second factor: the TOTP code with its replay guard, the
 * recovery code with its single use, and the account-wide count of wrong
 * codes that locks the second step.
 */
export function createProofChecker (deps: TwoFactorDeps) {
  const { factors, state, box, hasher, events, settings } = deps

  // A code stays acceptable for (2 * window + 1) steps; remembering the last
  // accepted step a little longer than that is enough to refuse every replay.
  const guardTtlSeconds = (2 * settings.window + 2) * TOTP_PERIOD_SECONDS

  async function checkTotp (factorId: string, secret: Buffer, code: string): Promise<ProofOutcome> {
    const nowSeconds = Math.floor(deps.now() / 1000)
    const step = await matchTimeStep(secret, code, nowSeconds, settings.window)
    if (step === null) return { ok: false, method: 'totp', reason: 'invalid_code' }

    // RFC 6238 §5.2: a verifier must not accept the second use of a code.
    const claimed = await state.claimStep(factorId, step, guardTtlSeconds)
    if (!claimed) return { ok: false, method: 'totp', reason: 'replayed' }

    return { ok: true, method: 'totp', recoveryCodesRemaining: -1 }
  }

  async function checkRecoveryCode (factor: Factor, input: string): Promise<ProofOutcome> {
    const code = normaliseRecoveryCode(input)
    const hash = code === null ? null : hasher.findMatch(factor.userId, code, factor.recoveryHashes)
    if (hash === null) return { ok: false, method: 'recovery_code', reason: 'invalid_code' }

    // Of requests racing with the same code, one wins the claim in Redis;
    // the removal from the factor then keeps it used for good.
    const claimed = await state.claimRecoveryCode(factor.factorId, hash, RECOVERY_CLAIM_TTL_SECONDS)
    const consumed = claimed &&
      await factors.consumeRecoveryHash(factor.userId, factor.factorId, hash)
    if (!consumed) return { ok: false, method: 'recovery_code', reason: 'replayed' }

    const remaining = factor.recoveryHashes.length - 1
    return { ok: true, method: 'recovery_code', recoveryCodesRemaining: remaining }
  }

  async function recordSuccess (
    userId: string,
    outcome: ProofOutcome,
    purpose: Purpose,
    log: DecisionLog
  ) {
    await state.clearFailures(userId)
    const { method } = outcome
    events.emit('twofactor.verification.succeeded', { user_id: userId, method, purpose })
    if (outcome.ok && method === 'recovery_code') {
      const remaining = outcome.recoveryCodesRemaining
      events.emit('twofactor.recovery_code.used', { user_id: userId, remaining })
    }
    log.info({ user_id: userId, method, purpose }, '2fa verification succeeded')
  }

  async function recordFailure (
    userId: string,
    outcome: Extract<ProofOutcome, { ok: false }>,
    purpose: Purpose,
    log: DecisionLog
  ) {
    const { method, reason } = outcome
    const count = await state.recordFailure(userId, settings.lockout)
    events.emit('twofactor.verification.failed', { user_id: userId, method, purpose, reason })
    log.info(
      { user_id: userId, method, purpose, reason, failures: count.failures },
      '2fa verification failed'
    )

    if (count.justLocked) {
      const until = new Date(deps.now() + settings.lockout.lockSeconds * 1000).toISOString()
      events.emit('twofactor.locked', { user_id: userId, until })
      log.warn({ user_id: userId, until }, '2fa locked for this account after too many wrong codes')
    }
  }

  return {
    checkTotp,

    /** Refuses the second step while the account is locked. */
    async assertNotLocked (userId: string): Promise<void> {
      const ms = await state.lockedForMs(userId)
      if (ms > 0) throw errors.account_locked({ extra: { retry_after: Math.ceil(ms / 1000) } })
    },

    /**
     * Checks a proof against a confirmed factor and keeps the account-wide
     * count of wrong codes: a success resets it, the failure that reaches the
     * limit locks the second step for every challenge and replica.
     */
    async checkProof (factor: Factor, proof: Proof, purpose: Purpose, log: DecisionLog) {
      const outcome = proof.totp_code !== undefined
        ? await checkTotp(factor.factorId, box.open(factor.secret, factor.userId), proof.totp_code)
        : await checkRecoveryCode(factor, proof.recovery_code)

      if (outcome.ok) await recordSuccess(factor.userId, outcome, purpose, log)
      else await recordFailure(factor.userId, outcome, purpose, log)
      return outcome
    }
  }
}

export type ProofChecker = ReturnType<typeof createProofChecker>
