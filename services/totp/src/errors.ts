import { defineErrors } from '@twofa/kit'

/** Every error the 2FA service answers with, declared once. */
export const errors = defineErrors({
  invalid_code: { status: 401, message: 'The code is not valid.' },
  challenge_not_found: {
    status: 404,
    message: 'The sign-in challenge does not exist or has expired.'
  },
  too_many_attempts: {
    status: 429,
    message: 'Too many wrong codes for this sign-in; start again.'
  },
  account_locked: {
    status: 429,
    message: 'Too many wrong codes for this account; two-factor sign-in is paused, try again later.'
  },
  own_account: {
    status: 403,
    message: 'Admins turn their own 2FA off from their security page, with a current code.'
  },
  already_enabled: { status: 409, message: 'Two-factor authentication is already on.' },
  not_enabled: { status: 409, message: 'Two-factor authentication is not on.' },
  account_deleted: { status: 404, message: 'This account no longer exists.' },
  no_pending_enrollment: {
    status: 409,
    message: 'There is no setup to confirm, or it expired; start the setup again.'
  }
})
