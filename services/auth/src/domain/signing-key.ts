import { createHash, createPrivateKey, createPublicKey, type JsonWebKey } from 'node:crypto'

export interface SigningKey {
  kid: string
  privatePem: string
  publicPem: string
  /** The public half as a JWK, for the JWKS document. */
  jwk: JsonWebKey & { kid: string, use: 'sig', alg: 'ES256' }
}

/**
 * Loads the token signing key and names it by its RFC 7638 thumbprint, so
 * the key id changes exactly when the key does.
 */
export function loadSigningKey (pem: string): SigningKey {
  const privateKey = createPrivateKey(pem)
  if (
    privateKey.asymmetricKeyType !== 'ec' ||
    privateKey.asymmetricKeyDetails?.namedCurve !== 'prime256v1'
  ) {
    throw new Error('SIGNING_KEY must be an EC P-256 key (ES256)')
  }

  const publicKey = createPublicKey(privateKey)
  const { crv, kty, x, y } = publicKey.export({ format: 'jwk' })
  // RFC 7638 §3.2: the required members, in lexicographic order, no spaces.
  const thumbprint = createHash('sha256')
    .update(JSON.stringify({ crv, kty, x, y }))
    .digest('base64url')

  return {
    kid: thumbprint,
    privatePem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    publicPem: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
    jwk: { crv, kty, x, y, kid: thumbprint, use: 'sig', alg: 'ES256' }
  }
}
