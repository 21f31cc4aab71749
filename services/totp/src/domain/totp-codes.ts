import { randomBytes } from 'node:crypto'
import { generate, generateURI, verify } from 'otplib'
import { NodeCryptoPlugin } from '@otplib/plugin-crypto-node'

/**
 * TOTP as RFC 6238 defines it, with the parameters every major authenticator
 * app supports: HMAC-SHA-1, 6 digits, 30-second steps from the Unix epoch.
 * Other algorithms and lengths are not offered, because Google Authenticator
 * and others silently ignore them and then show codes that never verify.
 */
export const TOTP_PERIOD_SECONDS = 30
export const TOTP_DIGITS = 6
export const TOTP_ALGORITHM = 'sha1'

/** RFC 4226 §4 (R6) recommends a 160-bit shared secret. */
export const SECRET_BYTES = 20

const crypto = new NodeCryptoPlugin()

export function generateSecret (): Buffer {
  return randomBytes(SECRET_BYTES)
}

const BASE32_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567'

/**
 * RFC 4648 base32, upper case, without padding: the form the key URI format
 * asks for (padding in the URI breaks several apps).
 */
export function toBase32 (bytes: Uint8Array): string {
  let bits = 0
  let value = 0
  let out = ''

  for (const byte of bytes) {
    value = (value << 8) | byte
    bits += 8
    while (bits >= 5) {
      out += BASE32_ALPHABET[(value >>> (bits - 5)) & 31]
      bits -= 5
    }
  }
  if (bits > 0) out += BASE32_ALPHABET[(value << (5 - bits)) & 31]

  return out
}

/** The time step a moment falls in: floor(unix seconds / 30). */
export function timeStepAt (epochSeconds: number): number {
  return Math.floor(epochSeconds / TOTP_PERIOD_SECONDS)
}

export interface CodeOptions {
  /** Only for checking the RFC 6238 test vectors; the product always uses the defaults. */
  digits?: 6 | 8
  algorithm?: 'sha1' | 'sha256' | 'sha512'
}

/** The code for the step that `epochSeconds` falls in, as a zero-padded string. */
export async function codeAt (
  secret: Uint8Array,
  epochSeconds: number,
  options: CodeOptions = {}
): Promise<string> {
  return await generate({
    secret: new Uint8Array(secret),
    epoch: epochSeconds,
    period: TOTP_PERIOD_SECONDS,
    digits: options.digits ?? TOTP_DIGITS,
    algorithm: options.algorithm ?? TOTP_ALGORITHM,
    crypto
  })
}

/**
 * Finds the time step a code belongs to, allowing `window` steps of clock
 * drift either way (RFC 6238 §5.2 recommends at most one), or null when it
 * matches none. Comparison is constant-time inside otplib.
 *
 * Accepting a code more than once is prevented by the caller, which claims the
 * returned step atomically in the replay guard.
 */
export async function matchTimeStep (
  secret: Uint8Array,
  code: string,
  epochSeconds: number,
  window: number
): Promise<number | null> {
  // otplib throws on a malformed code; a malformed code is simply a wrong one.
  if (!/^[0-9]{6}$/.test(code)) return null

  const result = await verify({
    secret: new Uint8Array(secret),
    token: code,
    epoch: epochSeconds,
    epochTolerance: window * TOTP_PERIOD_SECONDS,
    period: TOTP_PERIOD_SECONDS,
    digits: TOTP_DIGITS,
    algorithm: TOTP_ALGORITHM,
    crypto
  })

  return result.valid && 'timeStep' in result ? result.timeStep : null
}

/**
 * The `otpauth://totp/ISSUER:ACCOUNT?secret=…&issuer=ISSUER` URI that
 * authenticator apps read from the QR code.
 */
export function otpauthUri (issuer: string, account: string, secret: Uint8Array): string {
  return generateURI({
    issuer,
    // Neither part of the label may hold a colon (key URI format).
    label: account.replaceAll(':', ''),
    secret: toBase32(secret)
  })
}
