import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto'

/** A TOTP secret as stored: AES-256-GCM ciphertext plus the id of the key that sealed it. */
export interface SealedSecret {
  kid: string
  iv: string
  ct: string
  tag: string
}

export interface KeyRing {
  /** Id of the key new secrets are sealed with. */
  currentKid: string
  keys: ReadonlyMap<string, Buffer>
}

/**
 * Parses `kid:base64key,kid:base64key` into a key ring; every key must be 32
 * bytes (AES-256). Returns the problems instead of throwing so the config
 * check can list them with everything else.
 */
export function parseKeyRing (value: string, currentKid: string): KeyRing | string[] {
  const keys = new Map<string, Buffer>()
  const problems: string[] = []

  for (const entry of value.split(',').map((part) => part.trim()).filter(Boolean)) {
    const colon = entry.indexOf(':')
    const kid = colon > 0 ? entry.slice(0, colon) : ''
    const key = Buffer.from(colon > 0 ? entry.slice(colon + 1) : '', 'base64')
    if (!/^[A-Za-z0-9._-]{1,32}$/.test(kid)) {
      problems.push('each key needs an id of 1-32 letters, digits, ".", "_" or "-"')
    } else if (key.length !== 32) {
      problems.push(`key "${kid}" must be 32 bytes, base64-encoded`)
    } else {
      keys.set(kid, key)
    }
  }

  if (!keys.has(currentKid)) {
    problems.push(`the current key id "${currentKid}" is not among the keys`)
  }
  return problems.length > 0 ? problems : { currentKid, keys }
}

/**
 * Encrypts TOTP secrets at rest. The owner's user id is bound in as
 * additional authenticated data, so a ciphertext copied to another account
 * does not decrypt.
 */
export class SecretBox {
  constructor (private readonly ring: KeyRing) {}

  get currentKid (): string {
    return this.ring.currentKid
  }

  seal (secret: Uint8Array, ownerId: string): SealedSecret {
    const kid = this.ring.currentKid
    const iv = randomBytes(12)
    const cipher = createCipheriv('aes-256-gcm', this.key(kid), iv)
    cipher.setAAD(Buffer.from(ownerId, 'utf8'))
    const ct = Buffer.concat([cipher.update(secret), cipher.final()])

    return {
      kid,
      iv: iv.toString('base64'),
      ct: ct.toString('base64'),
      tag: cipher.getAuthTag().toString('base64')
    }
  }

  open (sealed: SealedSecret, ownerId: string): Buffer {
    const decipher = createDecipheriv(
      'aes-256-gcm',
      this.key(sealed.kid),
      Buffer.from(sealed.iv, 'base64')
    )
    decipher.setAAD(Buffer.from(ownerId, 'utf8'))
    decipher.setAuthTag(Buffer.from(sealed.tag, 'base64'))
    return Buffer.concat([decipher.update(Buffer.from(sealed.ct, 'base64')), decipher.final()])
  }

  private key (kid: string): Buffer {
    const key = this.ring.keys.get(kid)
    if (!key) throw new Error(`no encryption key with id "${kid}" is configured`)
    return key
  }
}
