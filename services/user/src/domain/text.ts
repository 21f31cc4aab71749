import { commonErrors } from '@twofa/kit'

/**
 * An unpaired UTF-16 surrogate, which only a string that is not well-formed
 * Unicode holds: with the `u` flag a pair is one code point, so only a lone
 * half matches. (`String.prototype.isWellFormed` says the same, but is not
 * in the ES2023 library the build targets.)
 */
const LONE_SURROGATE = /\p{Cs}/u

/**
 * Refuses text that is not well-formed Unicode with a 400 `invalid_request`.
 * Encoding such text as UTF-8 (to hash or store it) turns each lone
 * surrogate into U+FFFD, so different strings would become the same
 * password, address or name.
 */
export function requireWellFormed (field: string, value: string): void {
  if (LONE_SURROGATE.test(value)) {
    throw commonErrors.invalid_request({
      message: `The ${field} is not well-formed Unicode text: it holds an unpaired surrogate.`
    })
  }
}
