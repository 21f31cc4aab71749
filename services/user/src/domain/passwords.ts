import { hash, verify } from '@node-rs/argon2'

/**
 * argon2id with the OWASP minimum for interactive logins: 19 MiB, two passes,
 * one lane (about 20 ms on a current core).
 */
// 2 is Algorithm.Argon2id; the package's const enum cannot be imported under
// verbatimModuleSyntax.
const PARAMS = { algorithm: 2 as const, memoryCost: 19_456, timeCost: 2, parallelism: 1 }

/**
 * The same password typed on two keyboards can arrive as different code
 * points ("é" composed or not); NIST SP 800-63B asks for NFKC before hashing.
 */
function normalise (password: string): string {
  return password.normalize('NFKC')
}

export async function hashPassword (password: string): Promise<string> {
  return await hash(normalise(password), PARAMS)
}

export async function verifyPassword (passwordHash: string, password: string): Promise<boolean> {
  try {
    return await verify(passwordHash, normalise(password))
  } catch {
    // A malformed stored hash verifies nothing.
    return false
  }
}

/**
 * Makes a failed lookup cost what a wrong password costs: when no account
 * has the email, the password is still checked against a hash made with the
 * same parameters, so timing does not tell which emails are registered.
 */
export class PasswordChecker {
  private dummy: Promise<string> | null = null

  constructor (private readonly verifier: typeof verifyPassword = verifyPassword) {}

  async check (passwordHash: string | null, password: string): Promise<boolean> {
    if (passwordHash === null) {
      this.dummy ??= hashPassword('no account has this password')
      await this.verifier(await this.dummy, password)
      return false
    }
    return await this.verifier(passwordHash, password)
  }
}
