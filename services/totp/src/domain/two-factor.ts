import type { EventPublisher } from '@twofa/events'
import type { FactorStore } from '../store/factors.js'
import type { FailurePolicy, VolatileStore } from '../store/volatile.js'
import { createChallenges } from './challenges.js'
import { createEnrollment } from './enrollment.js'
import { createFactorChanges } from './factor-changes.js'
import { createProofChecker } from './proofs.js'
import type { RecoveryCodeHasher } from './recovery-codes.js'
import type { SecretBox } from './secret-box.js'

export type { Verified } from './challenges.js'
export type { Method } from './proofs.js'

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

/**
 * The 2FA domain: enrollment, login challenges, verification and recovery
 * codes. Built from its stores and settings, so it runs against Redis and
 * MongoDB or their in-memory stand-ins, and tests pin its clock.
 */
export function createTwoFactor (deps: TwoFactorDeps) {
  const proofs = createProofChecker(deps)
  return {
    ...createEnrollment(deps, proofs),
    ...createChallenges(deps, proofs),
    ...createFactorChanges(deps, proofs)
  }
}

export type TwoFactor = ReturnType<typeof createTwoFactor>
