/** Control characters (C0, DEL) and bidirectional overrides: never in what people see. */
const INVISIBLE = '\\x00-\\x1f\\x7f\\u202a-\\u202e\\u2066-\\u2069'

/**
 * An address to sign up with. The rule needs the normalised address and
 * Unicode scripts, so domain/emails.ts checks it when the account is
 * created; the schema only bounds the work and describes the rule.
 */
export const email = {
  type: 'string',
  minLength: 3,
  maxLength: 254,
  description: 'name@example.com: letters and digits of any script and . _ + - \' ' +
    'before the @; a domain of letters, digits and hyphens with a top-level domain of ' +
    '2 or more letters; no spaces or invisible characters; no mix of Latin, Greek and ' +
    'Cyrillic letters in one part'
} as const

/** Any string can be looked up: a malformed address is simply unknown. */
export const lookupEmail = { type: 'string', minLength: 1, maxLength: 254 } as const

export const password = { type: 'string', minLength: 1, maxLength: 128 } as const

/** NIST SP 800-63B: at least 8 characters, any characters, not all blank. */
export const newPassword = { type: 'string', minLength: 8, maxLength: 128, pattern: '\\S' } as const

/** The schema bounds the work; domain/names.ts checks what the name may show. */
export const displayName = {
  type: 'string',
  minLength: 1,
  maxLength: 100,
  description: 'At least one letter, digit, punctuation mark or symbol; no control, format ' +
    'or invisible characters, except the zero-width joiner and non-joiner and variation ' +
    'selectors',
  pattern: `^[^${INVISIBLE}]*[^\\s${INVISIBLE}][^${INVISIBLE}]*$`
} as const
export const userId = {
  type: 'string',
  minLength: 1,
  maxLength: 64,
  pattern: '^[A-Za-z0-9_-]+$'
} as const

export const profile = {
  type: 'object',
  properties: {
    id: { type: 'string' },
    email: { type: 'string' },
    name: { type: 'string' },
    roles: { type: 'array', items: { type: 'string' } },
    two_factor_enabled: { type: 'boolean' },
    created_at: { type: 'string' }
  }
} as const

export const idParams = {
  type: 'object',
  required: ['id'],
  additionalProperties: false,
  properties: { id: userId }
} as const
