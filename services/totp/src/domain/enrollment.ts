import { randomUUID } from 'node:crypto'
import QRCode from 'qrcode'
import type { DecisionLog } from '@twofa/kit'
import { createEnvelope } from '@twofa/events'
import { errors } from '../errors.js'
import { refusal, type ProofChecker } from './proofs.js'
import { withLease } from './lease.js'
import { generateRecoveryCodes, normaliseRecoveryCode } from './recovery-codes.js'
import { generateSecret, otpauthUri, toBase32 } from './totp-codes.js'
import type { TwoFactorDeps } from './two-factor.js'

/** A fresh set of recovery codes to show once, and their hashes to keep. */
export function newRecoveryCodes (deps: TwoFactorDeps, userId: string) {
  const codes = generateRecoveryCodes()
  const hashes = codes.map((code) =>
    deps.hasher.hash(userId, normaliseRecoveryCode(code) as string))
  return { codes, hashes }
}

/**
 * Turning 2FA on: a pending secret the user adds to their app, confirmed by
 * a code from it. Until then nothing changes for the account.
 */
export function createEnrollment (deps: TwoFactorDeps, proofs: ProofChecker) {
  const { factors, state, box, events, settings } = deps

  return {
    async startEnrollment (userId: string, account: string) {
      if (await factors.isDeleted(userId)) throw errors.account_deleted()
      if (await factors.get(userId)) throw errors.already_enabled()

      const secret = generateSecret()
      const pending = { factorId: randomUUID(), secret: box.seal(secret, userId) }
      await state.savePending(userId, pending, settings.enrollmentTtlSeconds)

      const uri = otpauthUri(settings.issuer, account, secret)
      const svg = await QRCode.toString(uri, { type: 'svg', errorCorrectionLevel: 'M', margin: 2 })
      return {
        secret: toBase32(secret),
        otpauth_url: uri,
        qr_svg: svg,
        expires_in: settings.enrollmentTtlSeconds
      }
    },

    async confirmEnrollment (userId: string, code: string, log: DecisionLog) {
      const pending = await state.loadPending(userId)
      if (!pending) throw errors.no_pending_enrollment()

      const reservation = await state.reservePendingAttempt(userId, settings.enrollmentMaxAttempts)
      if (reservation.status === 'missing') throw errors.no_pending_enrollment()
      if (reservation.status === 'exhausted') {
        await state.dropPending(userId)
        throw errors.too_many_attempts({ message: 'Too many wrong codes; start the setup again.' })
      }

      const outcome = await proofs.checkTotp(
        pending.factorId,
        box.open(pending.secret, userId),
        code
      )
      if (!outcome.ok) {
        const { reason } = outcome
        events.emit('twofactor.verification.failed', {
          user_id: userId,
          method: 'totp',
          purpose: 'enable',
          reason
        })
        log.info({ user_id: userId, reason }, '2fa enrollment code refused')
        const left = settings.enrollmentMaxAttempts - reservation.attempt
        throw refusal(outcome, { attempts_remaining: left })
      }

      const { codes, hashes } = newRecoveryCodes(deps, userId)
      const factor = {
        userId,
        factorId: pending.factorId,
        secret: pending.secret,
        recoveryHashes: hashes,
        enabledAt: new Date(deps.now())
      }
      const enabled = createEnvelope('twofactor.enabled', {
        user_id: userId,
        factor_id: pending.factorId
      })
      const created = await withLease(state, userId, async () =>
        await factors.create(factor, enabled))
      if (!created) {
        // Deleted since the setup began: the token outlived its account.
        if (await factors.isDeleted(userId)) throw errors.account_deleted()
        throw errors.already_enabled()
      }

      await state.dropPending(userId)
      log.info({ user_id: userId }, '2fa enabled')
      return { enabled: true as const, recovery_codes: codes }
    }
  }
}
