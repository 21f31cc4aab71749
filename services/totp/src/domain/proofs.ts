import type { DecisionLog, Proof } from '@twofa/kit'
import { createEnvelope } from '@twofa/events'
import { errors } from '../errors.js'
import type { Factor } from '../store/factors.js'
import { withLease } from './lease.js'
import { normaliseRecoveryCode } from './recovery-codes.js'
import { matchTimeStep, TOTP_PERIOD_SECONDS } from './totp-codes.js'
import type { TwoFactorDeps } from './two-factor.js'

export type Method = 'totp' | 'recovery_code'
export type Purpose = 'login' | 'enable' | 'disable' | 'regenerate'

export type ProofOutcome =
  | { ok: true, method: Method, recoveryCodesRemaining: number }
  | { ok: false, method: Method, reason: 'invalid_code' | 'replayed' }
  /** The proof was good, but a concurrent request completed the same sign-in first. */
  | { ok: false, method: Method, reason: 'superseded' }

/**
 * Called once a proof is known to be good, before anything that cannot be
 * undone (a recovery code is used up): true when this request may complete,
 * false when another one completed the same sign-in first.
 */
export type Finish = () => Promise<boolean>

/** The outcome of checking a code alone, before any sign-in is completed. */
type CodeOutcome = Exclude<ProofOutcome, { reason: 'superseded' }>

/**
 * The error for a refused proof. A code that was right but already used
 * says so, so the person waits for the next one instead of retyping it.
 */
export function refusal (
  outcome: Extract<ProofOutcome, { ok: false }>,
  extra: Record<string, unknown> = {}
) {
  if (outcome.reason === 'replayed' && outcome.method === 'totp') {
    return errors.invalid_code({
      message: 'This code was already used; wait for the next one.',
      extra: { ...extra, reason: 'code_already_used' }
    })
  }
  return errors.invalid_code({ extra })
}

/** The error for a locked account's second step. */
export function locked (retryAfterMs: number) {
  return errors.account_locked({ extra: { retry_after: Math.ceil(retryAfterMs / 1000) } })
}

/**
 * Checking a second factor: the TOTP code with its replay guard, the
 * recovery code with its single use, and the account-wide budget of wrong
 * codes that locks the second step.
 */
export function createProofChecker (deps: TwoFactorDeps) {
  const { factors, state, box, hasher, events, settings } = deps
  const policy = settings.lockout

  // A code stays acceptable for (2 * window + 1) steps; remembering the last
  // accepted step a little longer than that is enough to refuse every replay.
  const guardTtlSeconds = (2 * settings.window + 2) * TOTP_PERIOD_SECONDS

  async function checkTotp (factorId: string, secret: Buffer, code: string): Promise<CodeOutcome> {
    const nowSeconds = Math.floor(deps.now() / 1000)
    const step = await matchTimeStep(secret, code, nowSeconds, settings.window)
    if (step === null) return { ok: false, method: 'totp', reason: 'invalid_code' }

    // RFC 6238 §5.2: a verifier must not accept the second use of a code.
    const claimed = await state.claimStep(factorId, step, guardTtlSeconds)
    if (!claimed) return { ok: false, method: 'totp', reason: 'replayed' }

    return { ok: true, method: 'totp', recoveryCodesRemaining: -1 }
  }

  /** Uses a recovery code: read, match and remove under the account's lease. */
  async function checkRecoveryCode (
    factor: Factor,
    input: string,
    finish: Finish
  ): Promise<ProofOutcome> {
    const code = normaliseRecoveryCode(input)
    if (code === null) return { ok: false, method: 'recovery_code', reason: 'invalid_code' }

    return await withLease(state, factor.userId, async () => {
      const current = await factors.get(factor.userId)
      const stored = current?.factorId === factor.factorId ? current.recoveryHashes : []
      const hash = hasher.findMatch(factor.userId, code, stored)
      if (hash === null) return { ok: false, method: 'recovery_code', reason: 'invalid_code' }
      // Losers of a race on one sign-in keep their codes.
      if (!await finish()) return { ok: false, method: 'recovery_code', reason: 'superseded' }

      const remaining = stored.length - 1
      const used = createEnvelope('twofactor.recovery_code.used', {
        user_id: factor.userId,
        remaining
      })
      const consumed = await factors.consumeRecoveryHash(factor.userId, factor.factorId, hash, used)
      if (!consumed) return { ok: false, method: 'recovery_code', reason: 'replayed' }

      return { ok: true, method: 'recovery_code', recoveryCodesRemaining: remaining }
    })
  }

  async function recordSuccess (
    userId: string,
    outcome: ProofOutcome,
    purpose: Purpose,
    log: DecisionLog
  ) {
    const { method } = outcome
    events.emit('twofactor.verification.succeeded', { user_id: userId, method, purpose })
    log.info({ user_id: userId, method, purpose }, '2fa verification succeeded')
  }

  async function recordFailure (
    userId: string,
    attempt: number,
    outcome: Extract<ProofOutcome, { ok: false, reason: 'invalid_code' | 'replayed' }>,
    purpose: Purpose,
    log: DecisionLog
  ) {
    const { method, reason } = outcome
    const lockedSeconds = await state.recordFailure(userId, attempt, policy)
    events.emit('twofactor.verification.failed', { user_id: userId, method, purpose, reason })
    const fields = { user_id: userId, method, purpose, reason, failures: attempt }
    log.info(fields, '2fa verification failed')

    if (lockedSeconds > 0) {
      const until = new Date(deps.now() + lockedSeconds * 1000).toISOString()
      events.emit('twofactor.locked', { user_id: userId, until })
      log.warn({ user_id: userId, until, lock_seconds: lockedSeconds },
        '2fa locked for this account after too many wrong codes')
    }
    return lockedSeconds
  }

  /**
   * Checks a proof whose attempt the caller already took from the
   * account's budget (`attempt`), and records the outcome. On success
   * `finish` gives the budget back (the login path also ends its challenge
   * in the same step).
   */
  async function checkReservedProof (
    factor: Factor,
    proof: Proof,
    purpose: Purpose,
    log: DecisionLog,
    attempt: number,
    finish: Finish
  ): Promise<ProofOutcome> {
    let outcome: ProofOutcome
    if (proof.totp_code !== undefined) {
      const secret = box.open(factor.secret, factor.userId)
      outcome = await checkTotp(factor.factorId, secret, proof.totp_code)
      if (outcome.ok && !await finish()) {
        outcome = { ok: false, method: 'totp', reason: 'superseded' }
      }
    } else {
      outcome = await checkRecoveryCode(factor, proof.recovery_code, finish)
    }

    const userId = factor.userId
    if (outcome.ok) await recordSuccess(userId, outcome, purpose, log)
    else if (outcome.reason !== 'superseded') {
      // The wrong code that spends the budget says so, rather than counting
      // attempts that the lock has just taken away.
      const lockedSeconds = await recordFailure(userId, attempt, outcome, purpose, log)
      if (lockedSeconds > 0) throw locked(lockedSeconds * 1000)
    }
    return outcome
  }

  return {
    checkTotp,
    checkReservedProof,

    /**
     * Checks a proof against a confirmed factor. The attempt is taken from
     * the account's budget before the code is looked at, so concurrent
     * guesses cannot exceed it; a success gives the budget back, and the
     * wrong code that spends its last attempt locks the second step for
     * every challenge and replica.
     */
    async checkProof (factor: Factor, proof: Proof, purpose: Purpose, log: DecisionLog) {
      const reserved = await state.reserveAccountAttempt(factor.userId, policy)
      if (reserved.status === 'locked') throw locked(reserved.retryAfterMs)

      const finish = async () => {
        await state.clearFailures(factor.userId)
        return true
      }
      return await checkReservedProof(factor, proof, purpose, log, reserved.attempt, finish)
    }
  }
}

export type ProofChecker = ReturnType<typeof createProofChecker>
