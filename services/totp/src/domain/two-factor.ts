import { randomUUID } from 'node:crypto'
import QRCode from 'qrcode'
import type { DecisionLog, Proof } from '@twofa/kit'
import type { EventPublisher } from '@twofa/events'
import { errors } from '../errors.js'
import type { Factor, FactorStore } from '../store/factors.js'
import type { FailurePolicy, VolatileStore } from '../store/volatile.js'
import {
  generateRecoveryCodes,
  normaliseRecoveryCode,
  type RecoveryCodeHasher
} from './recovery-codes.js'
import type { SecretBox } from './secret-box.js'
import {
  generateSecret,
  matchTimeStep,
  otpauthUri,
  toBase32,
  TOTP_PERIOD_SECONDS
} from './totp-codes.js'

export interface TwoFactorSettings {
  /** Shown in the authenticator app beside the account name. */
  issuer: string
  /** Steps of clock drift accepted either way. */
  window: number
  challengeTtlSeconds: number
  challengeMaxAttempts: number
  enrollmentTtlSeconds: number
  enrollmentMaxAttempts: number
  lockout: FailurePolicy
}

export interface TwoFactorDeps {
  factors: FactorStore
  state: VolatileStore
  box: SecretBox
  hasher: RecoveryCodeHasher
  events: Pick<EventPublisher, 'emit'>
  settings: TwoFactorSettings
  /** Milliseconds since the epoch; a test pins it. */
  now: () => number
}

export type Method = 'totp' | 'recovery_code'
type Purpose = 'login' | 'enable' | 'disable' | 'regenerate'

export interface Verified {
  userId: string
  method: Method
  recoveryCodesRemaining: number
}

type ProofOutcome =
  | { ok: true, method: Method, recoveryCodesRemaining: number }
  | { ok: false, method: Method, reason: 'invalid_code' | 'replayed' }

/**
 * The 2FA domain: enrollment, challenges, verification and recovery codes.
 * Built from its stores and settings so it can run against Redis and MongoDB
 * or their in-memory stand-ins, and be tested with a pinned clock.
 */
export function createTwoFactor (deps: TwoFactorDeps) {
  const { factors, state, box, hasher, events, settings } = deps

  // A code stays acceptable for (2 * window + 1) steps; remembering the last
  // accepted step a little longer than that is enough to refuse every replay.
  const guardTtlSeconds = (2 * settings.window + 2) * TOTP_PERIOD_SECONDS

  const nowSeconds = (): number => Math.floor(deps.now() / 1000)

  async function assertNotLocked (userId: string): Promise<void> {
    const ms = await state.lockedForMs(userId)
    if (ms > 0) throw errors.account_locked({ extra: { retry_after: Math.ceil(ms / 1000) } })
  }

  async function checkTotp (factorId: string, secret: Buffer, code: string): Promise<ProofOutcome> {
    const step = await matchTimeStep(secret, code, nowSeconds(), settings.window)
    if (step === null) return { ok: false, method: 'totp', reason: 'invalid_code' }

    const claimed = await state.claimStep(factorId, step, guardTtlSeconds)
    if (!claimed) return { ok: false, method: 'totp', reason: 'replayed' }

    return { ok: true, method: 'totp', recoveryCodesRemaining: -1 }
  }

  async function checkRecoveryCode (factor: Factor, input: string): Promise<ProofOutcome> {
    const code = normaliseRecoveryCode(input)
    const hash = code === null ? null : hasher.findMatch(factor.userId, code, factor.recoveryHashes)
    if (hash === null) return { ok: false, method: 'recovery_code', reason: 'invalid_code' }

    // Of two requests racing with the same code, only one removes it.
    const consumed = await factors.consumeRecoveryHash(factor.userId, factor.factorId, hash)
    if (!consumed) return { ok: false, method: 'recovery_code', reason: 'replayed' }

    return { ok: true, method: 'recovery_code', recoveryCodesRemaining: factor.recoveryHashes.length - 1 }
  }

  /**
   * Checks a proof against a confirmed factor and keeps the account-wide
   * count of wrong codes: a success resets it, the failure that reaches the
   * limit locks the second step for every challenge and replica.
   */
  async function checkProof (factor: Factor, proof: Proof, purpose: Purpose, log: DecisionLog): Promise<ProofOutcome> {
    const outcome = proof.totp_code !== undefined
      ? await checkTotp(factor.factorId, box.open(factor.secret, factor.userId), proof.totp_code)
      : await checkRecoveryCode(factor, proof.recovery_code)
    const userId = factor.userId

    if (outcome.ok) {
      await state.clearFailures(userId)
      events.emit('twofactor.verification.succeeded', { user_id: userId, method: outcome.method, purpose })
      if (outcome.method === 'recovery_code') {
        events.emit('twofactor.recovery_code.used', { user_id: userId, remaining: outcome.recoveryCodesRemaining })
      }
      log.info({ user_id: userId, method: outcome.method, purpose }, '2fa verification succeeded')
      return outcome
    }

    const count = await state.recordFailure(userId, settings.lockout)
    events.emit('twofactor.verification.failed', { user_id: userId, method: outcome.method, purpose, reason: outcome.reason })
    log.info({ user_id: userId, method: outcome.method, purpose, reason: outcome.reason, failures: count.failures }, '2fa verification failed')

    if (count.justLocked) {
      const until = new Date(deps.now() + settings.lockout.lockSeconds * 1000).toISOString()
      events.emit('twofactor.locked', { user_id: userId, until })
      log.warn({ user_id: userId, until }, '2fa locked for this account after too many wrong codes')
    }
    return outcome
  }

  async function requireFactor (userId: string): Promise<Factor> {
    const factor = await factors.get(userId)
    if (!factor) throw errors.not_enabled()
    return factor
  }

  async function newRecoveryHashes (userId: string): Promise<{ codes: string[], hashes: string[] }> {
    const codes = generateRecoveryCodes()
    const hashes = codes.map((code) => hasher.hash(userId, normaliseRecoveryCode(code) as string))
    return { codes, hashes }
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

    /** Creates a pending enrollment: a new secret the user adds to their app. */
    async startEnrollment (userId: string, account: string) {
      if (await factors.get(userId)) throw errors.already_enabled()

      const secret = generateSecret()
      await state.savePending(userId, { factorId: randomUUID(), secret: box.seal(secret, userId) }, settings.enrollmentTtlSeconds)

      const uri = otpauthUri(settings.issuer, account, secret)
      return {
        secret: toBase32(secret),
        otpauth_url: uri,
        qr_svg: await QRCode.toString(uri, { type: 'svg', errorCorrectionLevel: 'M', margin: 2 }),
        expires_in: settings.enrollmentTtlSeconds
      }
    },

    /** Turns 2FA on once a code from the pending secret proves the app has it. */
    async confirmEnrollment (userId: string, code: string, log: DecisionLog) {
      const pending = await state.loadPending(userId)
      if (!pending) throw errors.no_pending_enrollment()

      const reservation = await state.reservePendingAttempt(userId, settings.enrollmentMaxAttempts)
      if (reservation.status === 'missing') throw errors.no_pending_enrollment()
      if (reservation.status === 'exhausted') {
        await state.dropPending(userId)
        throw errors.too_many_attempts({ message: 'Too many wrong codes; start the setup again.' })
      }

      const outcome = await checkTotp(pending.factorId, box.open(pending.secret, userId), code)
      if (!outcome.ok) {
        events.emit('twofactor.verification.failed', { user_id: userId, method: 'totp', purpose: 'enable', reason: outcome.reason })
        log.info({ user_id: userId, reason: outcome.reason }, '2fa enrollment code refused')
        throw errors.invalid_code({ extra: { attempts_remaining: settings.enrollmentMaxAttempts - reservation.attempt } })
      }

      const { codes, hashes } = await newRecoveryHashes(userId)
      const created = await factors.create({
        userId,
        factorId: pending.factorId,
        secret: pending.secret,
        recoveryHashes: hashes,
        enabledAt: new Date(deps.now())
      })
      if (!created) throw errors.already_enabled()

      await state.dropPending(userId)
      events.emit('twofactor.enabled', { user_id: userId, factor_id: pending.factorId })
      log.info({ user_id: userId }, '2fa enabled')
      return { enabled: true as const, recovery_codes: codes }
    },

    /** Opens a login challenge when the user has 2FA; the decision is made here, now. */
    async openChallenge (userId: string) {
      if (!await factors.get(userId)) return { required: false as const }

      const challengeId = randomUUID()
      await state.openChallenge(challengeId, userId, settings.challengeTtlSeconds)
      return { required: true as const, challenge_id: challengeId, expires_in: settings.challengeTtlSeconds }
    },

    /**
     * Answers a login challenge. Each call spends one of the challenge's
     * attempts before the code is looked at, so concurrent guesses cannot
     * exceed the budget; the challenge ends with the first success.
     */
    async verifyChallenge (challengeId: string, userId: string, proof: Proof, log: DecisionLog): Promise<Verified> {
      await assertNotLocked(userId)

      const reservation = await state.reserveChallengeAttempt(challengeId, settings.challengeMaxAttempts)
      if (reservation.status === 'missing') throw errors.challenge_not_found()
      if (reservation.owner !== userId) throw errors.challenge_not_found()
      if (reservation.status === 'exhausted') throw errors.too_many_attempts()

      const factor = await factors.get(userId)
      if (!factor) {
        // 2FA was turned off after the password step; the challenge is void.
        await state.consumeChallenge(challengeId)
        throw errors.challenge_not_found()
      }

      const outcome = await checkProof(factor, proof, 'login', log)
      if (!outcome.ok) {
        throw errors.invalid_code({
          extra: { attempts_remaining: settings.challengeMaxAttempts - reservation.attempt }
        })
      }

      if (!await state.consumeChallenge(challengeId)) throw errors.challenge_not_found()
      return { userId, method: outcome.method, recoveryCodesRemaining: outcome.recoveryCodesRemaining }
    },

    /** Turns 2FA off from the user's own settings, with a current code or a recovery code. */
    async disable (userId: string, proof: Proof, log: DecisionLog) {
      const factor = await requireFactor(userId)
      await assertNotLocked(userId)

      const outcome = await checkProof(factor, proof, 'disable', log)
      if (!outcome.ok) throw errors.invalid_code()

      await factors.remove(userId)
      events.emit('twofactor.disabled', { user_id: userId, factor_id: factor.factorId, reason: 'user', actor_id: userId })
      log.info({ user_id: userId }, '2fa disabled by the user')
      return { enabled: false as const }
    },

    /** Issues a fresh set of recovery codes; the old set stops working at once. */
    async regenerateRecoveryCodes (userId: string, totpCode: string, log: DecisionLog) {
      const factor = await requireFactor(userId)
      await assertNotLocked(userId)

      const outcome = await checkProof(factor, { totp_code: totpCode }, 'regenerate', log)
      if (!outcome.ok) throw errors.invalid_code()

      const { codes, hashes } = await newRecoveryHashes(userId)
      if (!await factors.replaceRecoveryHashes(userId, factor.factorId, hashes)) throw errors.not_enabled()

      events.emit('twofactor.recovery_codes.regenerated', { user_id: userId, count: codes.length })
      log.info({ user_id: userId }, 'recovery codes regenerated')
      return { recovery_codes: codes }
    },

    /** An admin turns 2FA off for someone who lost both device and codes. */
    async adminDisable (userId: string, adminId: string, log: DecisionLog) {
      const factor = await factors.remove(userId)
      await state.dropPending(userId)
      if (!factor) throw errors.not_enabled()

      await state.clearFailures(userId)
      events.emit('twofactor.disabled', { user_id: userId, factor_id: factor.factorId, reason: 'admin', actor_id: adminId })
      log.info({ user_id: userId, admin_id: adminId }, '2fa disabled by an admin')
      return { enabled: false as const }
    },

    /** Removes everything 2FA held for a deleted user; safe to repeat. */
    async removeForDeletedUser (userId: string, log: DecisionLog) {
      const factor = await factors.remove(userId)
      await state.dropPending(userId)
      if (!factor) return

      events.emit('twofactor.disabled', { user_id: userId, factor_id: factor.factorId, reason: 'user_deleted', actor_id: null })
      log.info({ user_id: userId }, '2fa removed for a deleted user')
    }
  }
}

export type TwoFactor = ReturnType<typeof createTwoFactor>
