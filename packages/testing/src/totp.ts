import { createHmac } from 'node:crypto'

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567'

/** RFC 4648 base32 to bytes, as an authenticator app reads a typed-in key. */
export function base32ToBytes (text: string): Buffer {
  let bits = 0
  let value = 0
  const out: number[] = []

  for (const char of text.toUpperCase().replace(/[\s=-]/g, '')) {
    const index = ALPHABET.indexOf(char)
    if (index < 0) throw new Error(`not base32: ${char}`)
    value = (value << 5) | index
    bits += 5
    if (bits >= 8) {
      out.push((value >>> (bits - 8)) & 0xff)
      bits -= 8
    }
  }
  return Buffer.from(out)
}

/**
 * The code an authenticator app shows for a base32 secret at a moment,
 * written from RFC 6238 and independent of the product's own code, so a
 * test that uses it checks the product against the RFC, not against itself.
 */
export function authenticatorCode (
  secretBase32: string,
  epochSeconds: number = Date.now() / 1000
): string {
  const counter = Buffer.alloc(8)
  counter.writeBigUInt64BE(BigInt(Math.floor(epochSeconds / 30)))
  const digest = createHmac('sha1', base32ToBytes(secretBase32)).update(counter).digest()
  const offset = (digest[digest.length - 1] as number) & 0x0f
  return String((digest.readUInt32BE(offset) & 0x7fffffff) % 1_000_000).padStart(6, '0')
}
