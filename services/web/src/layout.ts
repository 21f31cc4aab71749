import { isAdmin, signOut, type Profile } from './session.js'

/**
 * Fills in the parts every signed-in page shares: who is signed in, the
 * admin link for admins, and the sign-out button.
 */
export function startLayout (profile: Profile): void {
  for (const element of document.querySelectorAll<HTMLElement>('[data-account]')) {
    element.textContent = profile.email
  }
  for (const element of document.querySelectorAll<HTMLElement>('[data-admin-only]')) {
    element.hidden = !isAdmin(profile)
  }
  document.getElementById('sign-out')?.addEventListener('click', signOut)
}

/** Formats an ISO date for people, in their own locale. */
export function dateOf (iso: string | null | undefined): string {
  if (!iso) return ''
  const date = new Date(iso)
  if (Number.isNaN(date.getTime())) return ''
  return date.toLocaleDateString(undefined, { year: 'numeric', month: 'long', day: 'numeric' })
}
