import { byId } from './dom.js'

/**
 * The digits of a TOTP code as people type or paste it: "123 456" and
 * "123-456" (how apps show codes) count as "123456".
 */
export function totpDigits (text: string): string {
  return text.replace(/[\s-]/g, '')
}

export function isTotpCode (text: string): boolean {
  return /^[0-9]{6}$/.test(text)
}

export const NOT_SIX_DIGITS = 'Type the 6 digits your authenticator app shows.'

/** A base32 secret in groups of four, as authenticator apps ask for it. */
export function groupsOfFour (secret: string): string {
  return (secret.match(/.{1,4}/g) ?? [secret]).join(' ')
}

/**
 * Makes a text field a code field: the digit keypad on phones, the code
 * from an SMS or a password manager offered, and spaces dropped as they are
 * typed or pasted.
 */
export function codeField (id: string): HTMLInputElement {
  const input = byId<HTMLInputElement>(id)
  input.addEventListener('input', () => {
    const digits = totpDigits(input.value)
    if (digits !== input.value) input.value = digits
  })
  return input
}

/** What a refused code means, with the attempts left when the API says. */
export function wrongCodeMessage (body: Record<string, unknown>): string {
  const used = body.reason === 'code_already_used'
  const base = used
    ? 'That code was already used. Wait for your app to show a new code, then type it.'
    : 'That code is not right. Check the code in your app and try again.'
  const left = body.attempts_remaining
  if (typeof left !== 'number') return base
  return `${base} ${left} ${left === 1 ? 'attempt' : 'attempts'} left.`
}
