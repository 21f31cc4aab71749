import { createPrivateKey, sign, type KeyObject } from 'node:crypto'

/**
 * A compact ES256 JWT signed with `key` (RFC 7518 §3.4: the signature is r
 * and s side by side, not DER), for tests and the bench that need a token as
 * the auth service would issue it without running a sign-in.
 */
export function signEs256 (
  key: KeyObject | string,
  kid: string,
  claims: Record<string, unknown>
): string {
  const part = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url')
  const input = `${part({ alg: 'ES256', typ: 'JWT', kid })}.${part(claims)}`
  const keyObject = typeof key === 'string' ? createPrivateKey(key) : key
  const options = { key: keyObject, dsaEncoding: 'ieee-p1363' as const }
  const signature = sign('sha256', Buffer.from(input), options)
  return `${input}.${signature.toString('base64url')}`
}
