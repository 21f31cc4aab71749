import { ApiError } from './api.js'
import { byId } from './dom.js'
import { isAdmin, signOut, type Profile } from './session.js'

/**
 * Shows why an admin page cannot be used, when it cannot: the account lacks
 * the admin role, or it is an admin whose sign-in had no second factor (the
 * admin API answers 403 second_factor_required). True when a reason was shown.
 */
export function showRefusal (profile: Profile, error?: unknown): boolean {
  const secondFactor = error instanceof ApiError && error.code === 'second_factor_required'
  const forbidden = !isAdmin(profile) ||
    (error instanceof ApiError && error.status === 403 && !secondFactor)
  if (!secondFactor && !forbidden) return false

  byId('loading').hidden = true
  const section = byId(secondFactor ? 'needs-2fa' : 'not-allowed')
  section.hidden = false
  document.title = `${secondFactor ? 'Two-factor sign-in needed' : 'Not allowed'} · twofa`
  byId('sign-out-again').addEventListener('click', signOut)
  return true
}
