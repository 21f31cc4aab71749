import { createHmac, randomInt, timingSafeEqual } from 'node:crypto'

/**
 * Recovery codes: 12 characters from a 31-letter alphabet without look-alikes
 * (no 0/o, 1/i/l), about 59 bits each, shown as three groups of four.
 */
export const RECOVERY_CODE_COUNT = 10
export const RECOVERY_ALPHABET = '23456789abcdefghjkmnpqrstuvwxyz'
const CODE_LENGTH = 12
const GROUP = 4

export function generateRecoveryCodes (count = RECOVERY_CODE_COUNT): string[] {
  const codes: string[] = []
  for (let i = 0; i < count; i++) {
    let raw = ''
    // randomInt draws without modulo bias.
    for (let j = 0; j < CODE_LENGTH; j++) {
      raw += RECOVERY_ALPHABET[randomInt(RECOVERY_ALPHABET.length)]
    }
    codes.push(formatRecoveryCode(raw))
  }
  return codes
}

export function formatRecoveryCode (raw: string): string {
  const groups: string[] = []
  for (let i = 0; i < raw.length; i += GROUP) groups.push(raw.slice(i, i + GROUP))
  return groups.join('-')
}

/**
 * Reduces what a person typed to the canonical code: any case, with or
 * without spaces and dashes. Returns null when it cannot be a recovery code.
 */
export function normaliseRecoveryCode (input: string): string | null {
  const raw = input.toLowerCase().replace(/[\s-]+/g, '')
  if (raw.length !== CODE_LENGTH) return null
  for (const char of raw) if (!RECOVERY_ALPHABET.includes(char)) return null
  return raw
}

/**
 * Hashes recovery codes with a server-side key (the pepper) and the owner's
 * id, so stored hashes are useless without the key and cannot be moved
 * between accounts. The codes carry ~59 bits, so a keyed hash is enough.
 */
export class RecoveryCodeHasher {
  constructor (private readonly pepper: string) {}

  hash (userId: string, canonicalCode: string): string {
    return createHmac('sha256', this.pepper).update(`${userId}\n${canonicalCode}`).digest('hex')
  }

  /**
   * The stored hash this code matches, or null. Every stored hash is compared,
   * in constant time, so timing says nothing about which one matched.
   */
  findMatch (userId: string, canonicalCode: string, stored: readonly string[]): string | null {
    const candidate = Buffer.from(this.hash(userId, canonicalCode), 'hex')
    let match: string | null = null

    for (const hash of stored) {
      const bytes = Buffer.from(hash, 'hex')
      if (bytes.length === candidate.length && timingSafeEqual(bytes, candidate)) match = hash
    }
    return match
  }
}
