import { commonErrors } from '@twofa/kit'

/**
 * Format characters and default-ignorable code points draw nothing, so a
 * name of them looks blank. The zero-width non-joiner and joiner and the
 * variation selectors are kept: Persian and Indic names need the joiners,
 * emoji sequences the joiner and selectors, and Japanese names the
 * ideographic variation selectors (U+E0100 and on) that pick a kanji form.
 */
const INVISIBLE = /[\p{Cf}\p{Default_Ignorable_Code_Point}]/u
const JOINER_OR_SELECTOR =
  /^(?:\u200c|\u200d|[\u180b-\u180d]|\u180f|[\ufe00-\ufe0f]|[\u{e0100}-\u{e01ef}])$/u

/** A letter, digit, punctuation mark or symbol: something a reader sees. */
const VISIBLE = /[\p{L}\p{N}\p{P}\p{S}]/u

export const NAME_PROBLEM = 'The name must show at least one letter, digit or symbol and hold ' +
  'no format or invisible characters such as a zero-width space.'

/** The trimmed name, or a 400 `invalid_request` when it would display blank or hide text. */
export function checkedName (raw: string): string {
  const name = raw.trim()
  const hidden = [...name].some((char) => INVISIBLE.test(char) && !JOINER_OR_SELECTOR.test(char))
  if (hidden || !VISIBLE.test(name)) {
    throw commonErrors.invalid_request({ message: NAME_PROBLEM })
  }
  return name
}
