import { ApiError, call } from './api.js'
import { go } from './dom.js'

export interface Profile {
  id: string
  email: string
  name: string
  roles: string[]
  two_factor_enabled: boolean
  created_at: string
}

/**
 * Why the sign-in page was opened, as a fixed code in its address: the page
 * shows its own text for each, never text taken from the address.
 */
export type Notice = 'signed_out' | 'session_ended'

export function signInUrl (notice?: Notice): string {
  return notice ? `/?notice=${notice}` : '/'
}

/** The signed-in person; without a valid session, a trip to the sign-in page. */
export async function requireProfile (): Promise<Profile> {
  try {
    return await call<Profile>('/api/users/me')
  } catch (error) {
    const signedOut = error instanceof ApiError && error.status === 401
    if (signedOut) return await go(signInUrl('session_ended'))
    throw error
  }
}

/** Ends the browser session (the auth service clears both cookies) and shows the sign-in page. */
export async function signOut (): Promise<never> {
  try {
    await call('/api/sso/logout', { method: 'POST' })
  } catch {
    // The cookies expire on their own; the person asked to leave either way.
  }
  return await go(signInUrl('signed_out'))
}

export function isAdmin (profile: Profile): boolean {
  return profile.roles.includes('admin')
}
