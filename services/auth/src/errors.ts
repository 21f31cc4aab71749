import { defineErrors } from '@twofa/kit'

/** Every error the auth service answers with, declared once. */
export const errors = defineErrors({
  invalid_credentials: { status: 401, message: 'The email or password is not correct.' },
  signin_locked: {
    status: 429,
    message: 'Too many failed sign-ins for this email; try again later.'
  },
  invalid_temp_token: {
    status: 401,
    message: 'The sign-in has expired or is no longer valid; sign in with your password again.'
  },
  invalid_code: { status: 401, message: 'The code is not valid.' },
  too_many_attempts: {
    status: 429,
    message: 'Too many wrong codes for this sign-in; start again.'
  },
  account_locked: {
    status: 429,
    message: 'Too many wrong codes for this account; two-factor sign-in is paused, try again later.'
  }
})
