import type { DecisionLog } from '@twofa/kit'
import type { Factor, FactorStore } from '../store/factors.js'
import type { SecretBox } from './secret-box.js'

export interface RotationTally {
  /** Factors looked at so far. */
  scanned: number
  resealed: number
  alreadyCurrent: number
  /** Removed or replaced between being read and being re-sealed: nothing to do. */
  skipped: number
  /** Sealed under a key the ring does not have, or not opening with it. */
  failed: number
  /** The last user id looked at: a run given it as `after` goes on from there. */
  lastUserId: string | null
}

export interface RotationOptions {
  /** Factors read per page. */
  batch: number
  /** Starts after this user id (in user id order); from the start when null. */
  after: string | null
  /** Called after each page with the tally so far. */
  onPage?: (tally: RotationTally) => void
}

type Outcome = 'resealed' | 'alreadyCurrent' | 'skipped' | 'failed'

async function reseal (
  factors: FactorStore,
  box: SecretBox,
  factor: Factor,
  log: DecisionLog
): Promise<Outcome> {
  if (factor.secret.kid === box.currentKid) return 'alreadyCurrent'

  let next
  try {
    const secret = box.open(factor.secret, factor.userId)
    next = box.seal(secret, factor.userId)
    secret.fill(0)
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error)
    log.error({ user_id: factor.userId, kid: factor.secret.kid, reason }, 'secret cannot be opened')
    return 'failed'
  }

  const replaced = await factors.resealSecret(factor.userId, factor.factorId, factor.secret, next)
  return replaced ? 'resealed' : 'skipped'
}

/**
 * Re-encrypts every stored TOTP secret under the key ring's current key,
 * page by page in user id order. A secret already under that key is left
 * alone, so a run that stopped part way can simply be started again (or
 * given the last user id it reported). Each secret is replaced only if it is
 * still the one that was read, so a user who turns 2FA off or on meanwhile
 * keeps what they did.
 */
export async function resealSecrets (
  factors: FactorStore,
  box: SecretBox,
  log: DecisionLog,
  options: RotationOptions
): Promise<RotationTally> {
  const tally: RotationTally = {
    scanned: 0,
    resealed: 0,
    alreadyCurrent: 0,
    skipped: 0,
    failed: 0,
    lastUserId: options.after
  }

  for (;;) {
    const page = await factors.page(tally.lastUserId, options.batch)
    for (const factor of page) {
      tally[await reseal(factors, box, factor, log)]++
      tally.scanned++
      tally.lastUserId = factor.userId
    }

    if (page.length > 0) options.onPage?.({ ...tally })
    if (page.length < options.batch) return tally
  }
}
