import { authenticatorCode, type Cluster } from '@twofa/testing'

export const PASSWORD = 'a long enough password'

/** Starts at the beginning of a 30 s step, so a test's codes stay inside the window. */
export async function startOfStep (): Promise<number> {
  const into = (Date.now() / 1000) % 30
  if (into > 12) await new Promise((resolve) => setTimeout(resolve, (30 - into) * 1000 + 200))
  return Math.floor(Date.now() / 1000 / 30)
}

/** Waits until a condition holds: events arrive when they arrive. */
export async function eventually (
  check: () => Promise<boolean>,
  what: string,
  timeoutMs = 30_000
): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    if (await check()) return
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  throw new Error(`timed out waiting for ${what}`)
}

export interface Enrolled {
  id: string
  token: string
  secret: string
  recoveryCodes: string[]
  /** The code for a time step. */
  codeAt: (step: number) => string
}

/** Registers a user and signs in with the password. */
export async function signedUp (
  cluster: Cluster,
  email: string
): Promise<{ id: string, token: string }> {
  const created = await cluster.call(`${cluster.user}/api/users`, {
    body: { email, password: PASSWORD, name: 'Test' }
  })
  if (created.status !== 201) throw new Error(`sign-up failed: ${JSON.stringify(created.body)}`)
  const signIn = await cluster.call(`${cluster.auth[0] as string}/api/sso/token`, {
    body: { email, password: PASSWORD }
  })
  return { id: created.body.id as string, token: signIn.body.token as string }
}

/**
 * Signs a new user up and turns 2FA on with the code of step `step - 1`, so
 * the codes of `step` and `step + 1` are still unused.
 */
export async function enrolled (cluster: Cluster, email: string, step: number): Promise<Enrolled> {
  const { id, token } = await signedUp(cluster, email)
  const totp = cluster.totp[0] as string
  const setup = await cluster.call(`${totp}/api/2fa/setup`, { method: 'POST', token })
  const secret = setup.body.secret as string
  const codeAt = (s: number): string => authenticatorCode(secret, s * 30)
  const enabled = await cluster.call(`${totp}/api/2fa/enable`, {
    body: { totp_code: codeAt(step - 1) },
    token
  })
  if (enabled.status !== 200) throw new Error(`enable failed: ${JSON.stringify(enabled.body)}`)
  return { id, token, secret, recoveryCodes: enabled.body.recovery_codes as string[], codeAt }
}

/** The temp token of a password sign-in, through one auth replica. */
export async function challenge (cluster: Cluster, email: string, replica = 0): Promise<string> {
  const auth = cluster.auth[replica % cluster.auth.length] as string
  const answer = await cluster.call(`${auth}/api/sso/token`, {
    body: { email, password: PASSWORD }
  })
  if (!answer.body?.temp_token) throw new Error(`no challenge: ${JSON.stringify(answer.body)}`)
  return answer.body.temp_token as string
}

export async function verify (cluster: Cluster, body: Record<string, unknown>, replica = 0) {
  const auth = cluster.auth[replica % cluster.auth.length] as string
  return await cluster.call(`${auth}/api/sso/verify-2fa`, { body })
}
