import { domainToASCII } from 'node:url'
import { commonErrors } from '@twofa/kit'

/**
 * What an address must look like to sign up with. The rule is deliberately
 * narrower than RFC 5322 (no quoted local parts, comments or IP literals)
 * and checks the address as it is stored and compared: NFKC-normalised and
 * trimmed, so a compatibility character cannot smuggle in what the rule
 * refuses.
 *
 * - No control, format or other invisible character (Unicode category C:
 *   zero-width spaces, direction marks, …), no default-ignorable code point
 *   (combining grapheme joiner, variation selectors, Hangul fillers, …: they
 *   are letters or marks to the rule below, but draw nothing, and IDNA
 *   drops some of them) and no whitespace anywhere.
 * - Before the @: letters and decimal digits of any script (with their
 *   combining marks) and `.` `_` `+` `-` `'`; no dot first, last or twice
 *   in a row.
 * - After the @: labels of letters, digits and inner hyphens joined by single
 *   dots, no dot at the end, a top-level domain of two or more letters (or
 *   its `xn--` form).
 * - No part (the local part, or one domain label) mixes Latin, Greek and
 *   Cyrillic letters, the scripts whose letters look alike (`раypal` with a
 *   Cyrillic р and а). Letters within one script that resemble others, like
 *   the Turkish dotless ı, stay allowed: refusing them would refuse real
 *   names, so `alıce@example.com` and `alice@example.com` are two accounts.
 * - RFC 5321 §4.5.3.1 sizes: 64 bytes before the @, 254 in all, and 63 per
 *   label in the domain's ASCII form (RFC 1035 §2.3.4).
 */

const LOCAL_MAX_BYTES = 64
const ADDRESS_MAX_BYTES = 254
const LABEL_MAX_BYTES = 63

/** A letter or decimal digit of any script, with any combining marks after it. */
const ALNUM = String.raw`[\p{L}\p{Nd}]\p{M}*`
const LOCAL_ATOM = String.raw`(?:${ALNUM}|[_+'-])+`
const LOCAL_PART = new RegExp(String.raw`^${LOCAL_ATOM}(?:\.${LOCAL_ATOM})*$`, 'u')
const LABEL = new RegExp(String.raw`^${ALNUM}(?:(?:${ALNUM}|-)*${ALNUM})?$`, 'u')
const TOP_LEVEL = /^(?:(?:\p{L}\p{M}*){2,}|xn--[a-z0-9-]+)$/iu
const INVISIBLE_OR_SPACE = /[\p{C}\p{Z}\s\p{Default_Ignorable_Code_Point}]/u
const LOOKALIKE_SCRIPTS = [/\p{Script=Latin}/u, /\p{Script=Greek}/u, /\p{Script=Cyrillic}/u]

export const EMAIL_PROBLEMS = {
  shape: 'The email must be one address of the form name@example.com.',
  invisible: 'The email must not contain spaces, control characters or invisible ' +
    'characters such as a zero-width space.',
  tooLong: 'The email is too long: at most 64 bytes before the @ and 254 in all.',
  localPart: 'Before the @, the email may hold only letters, digits and . _ + - \', ' +
    'with no dot at the start or end and no two dots in a row.',
  domain: 'After the @, the email needs a domain such as example.com: labels of letters, ' +
    'digits and hyphens joined by single dots, ending in a top-level domain of two or ' +
    'more letters, with no dot at the end.',
  mixedScripts: 'The email mixes Latin, Greek or Cyrillic letters in one part, which makes ' +
    'look-alike addresses; use one of these alphabets per part.'
} as const

/** The address as it is stored and checked: NFKC-normalised and trimmed, case kept. */
export function normaliseEmail (raw: string): string {
  return raw.normalize('NFKC').trim()
}

function mixesLookalikeScripts (part: string): boolean {
  return LOOKALIKE_SCRIPTS.filter((script) => script.test(part)).length > 1
}

function domainProblem (domain: string): string | null {
  const labels = domain.split('.')
  const topLevel = labels[labels.length - 1] ?? ''
  if (labels.length < 2 || !labels.every((label) => LABEL.test(label)) ||
    !TOP_LEVEL.test(topLevel)) {
    return EMAIL_PROBLEMS.domain
  }
  if (labels.some(mixesLookalikeScripts)) return EMAIL_PROBLEMS.mixedScripts

  // The ASCII (punycode) form is what DNS carries and what the label limit counts.
  // A label that IDNA maps to nothing would vanish from it: another domain.
  const ascii = domainToASCII(domain).split('.')
  if (ascii.length !== labels.length || ascii.some((label) => label === '')) {
    return EMAIL_PROBLEMS.domain
  }
  if (ascii.some((label) => label.length > LABEL_MAX_BYTES)) return EMAIL_PROBLEMS.domain
  return null
}

/** What is wrong with a normalised address, as a sentence for the client; null when nothing. */
export function emailProblem (address: string): string | null {
  if (INVISIBLE_OR_SPACE.test(address)) return EMAIL_PROBLEMS.invisible

  const parts = address.split('@')
  if (parts.length !== 2) return EMAIL_PROBLEMS.shape
  const [local = '', domain = ''] = parts
  if (local === '' || domain === '') return EMAIL_PROBLEMS.shape

  if (Buffer.byteLength(local) > LOCAL_MAX_BYTES ||
    Buffer.byteLength(address) > ADDRESS_MAX_BYTES) {
    return EMAIL_PROBLEMS.tooLong
  }
  if (!LOCAL_PART.test(local)) return EMAIL_PROBLEMS.localPart
  if (mixesLookalikeScripts(local)) return EMAIL_PROBLEMS.mixedScripts
  return domainProblem(domain)
}

/** The normalised address, or a 400 `invalid_request` that says what is wrong with it. */
export function checkedEmail (raw: string): string {
  const address = normaliseEmail(raw)
  const problem = emailProblem(address)
  if (problem) throw commonErrors.invalid_request({ message: problem })
  return address
}
