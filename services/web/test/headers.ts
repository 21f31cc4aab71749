import type { Test } from 'tap'

/**
 * The security headers both setups must send, on pages and API answers
 * alike. Both tests check against this one list, so the gateway and the
 * one-process start cannot drift apart.
 */
export const EXPECTED_HEADERS: Record<string, string> = {
  'content-security-policy': "default-src 'none'; script-src 'self'; style-src 'self'; " +
    "img-src 'self' data:; connect-src 'self'; form-action 'self'; base-uri 'none'; " +
    "frame-ancestors 'none'",
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'x-content-type-options': 'nosniff'
}

export async function checkSecurityHeaders (t: Test, baseUrl: string): Promise<void> {
  for (const path of ['/', '/security/', '/js/pages/sign-in.js', '/api/users/me']) {
    const response = await fetch(`${baseUrl}${path}`)
    await response.arrayBuffer()
    const sent = Object.fromEntries(Object.keys(EXPECTED_HEADERS)
      .map((name) => [name, response.headers.get(name)]))
    t.same(sent, EXPECTED_HEADERS, `security headers on ${path}`)
  }
  t.notMatch(EXPECTED_HEADERS['content-security-policy'], /unsafe/, 'no unsafe-inline anywhere')
}
