import { defineErrors } from '@twofa/kit'

/** Every error the user service answers with, declared once. */
export const errors = defineErrors({
  email_taken: { status: 409, message: 'An account with this email already exists.' },
  invalid_credentials: { status: 401, message: 'The email or password is not correct.' },
  registration_closed: {
    status: 403,
    message: 'Sign-up is turned off; ask an admin for an account.'
  },
  user_not_found: { status: 404, message: 'No such user.' },
  cannot_delete_self: { status: 409, message: 'Admins cannot delete their own account.' }
})
