import { createHash } from 'node:crypto'
import type { AttemptBudget, BudgetPolicy } from '@twofa/kit'
import { errors } from '../errors.js'

/**
 * Bounds password guessing per account. The budget is keyed by a hash of
 * the normalised email, whether or not an account has it, so the answers
 * say nothing about which emails are registered, and no address is stored
 * in Redis.
 */
export function createSigninThrottle (budget: AttemptBudget, policy: BudgetPolicy) {
  const keyOf = (email: string): string => createHash('sha256')
    .update(email.normalize('NFKC').trim().toLowerCase())
    .digest('base64url')
    .slice(0, 22)

  return {
    /** Takes an attempt for this email before the password is checked. */
    async reserve (email: string): Promise<number> {
      const reserved = await budget.reserve(keyOf(email), policy)
      if (reserved.status === 'locked') {
        const retryAfter = Math.ceil(reserved.retryAfterMs / 1000)
        throw errors.signin_locked({ extra: { retry_after: retryAfter } })
      }
      return reserved.attempt
    },

    /** A wrong password; true when it spent the budget. */
    async failed (email: string, attempt: number): Promise<boolean> {
      return await budget.fail(keyOf(email), attempt, policy) > 0
    },

    async succeeded (email: string): Promise<void> {
      await budget.clear(keyOf(email))
    }
  }
}

export type SigninThrottle = ReturnType<typeof createSigninThrottle>
