import { authenticatorCode } from '@twofa/testing'
import { bearerGet, drive, jsonPost, type LoadFigure } from './load.js'
import { PASSWORD, type Account } from './seeding.js'

/** An open 2FA challenge: the temp token of a password sign-in, and whose it is. */
export interface Challenge {
  tempToken: string
  account: Account
}

function currentStep (): number {
  return Math.floor(Date.now() / 30_000)
}

/**
 * The challenges the login runs opened, handed out so that no verification
 * is refused as a replay: the services accept one code per account per 30 s
 * step, so a pass takes each account at most once, and only accounts that
 * have not verified in the current step.
 */
export class ChallengePool {
  private waiting: Challenge[] = []
  private readonly lastStep = new Map<string, number>()

  add (challenge: Challenge): void {
    this.waiting.push(challenge)
  }

  get size (): number {
    return this.waiting.length
  }

  /** Notes that an account's code of `step` was used. */
  used (account: Account, step: number): void {
    this.lastStep.set(account.email, step)
  }

  /** Up to `count` challenges of distinct accounts; waits for a new step when too few are free. */
  async take (count: number): Promise<Challenge[]> {
    const wanted = Math.min(count, this.distinctAccounts())
    let taken = this.pick(count)
    if (taken.length < wanted) {
      this.waiting.unshift(...taken)
      const wait = 30_000 - (Date.now() % 30_000) + 100
      await new Promise((resolve) => setTimeout(resolve, wait))
      taken = this.pick(count)
    }
    return taken
  }

  private distinctAccounts (): number {
    return new Set(this.waiting.map((challenge) => challenge.account.email)).size
  }

  private pick (count: number): Challenge[] {
    const step = currentStep()
    const chosen = new Set<string>()
    const taken: Challenge[] = []
    const left: Challenge[] = []

    for (const challenge of this.waiting) {
      const email = challenge.account.email
      const free = (this.lastStep.get(email) ?? -1) < step && !chosen.has(email)
      if (taken.length < count && free) {
        chosen.add(email)
        taken.push(challenge)
      } else {
        left.push(challenge)
      }
    }
    this.waiting = left
    return taken
  }
}

/**
 * `POST /api/sso/token` `count` times over the accounts in turn. Every
 * answer of a 2FA account is a challenge, which goes into the pool for the
 * verification passes.
 */
export async function loginRun (
  authUrl: string,
  accounts: Account[],
  count: number,
  connections: number,
  pool: ChallengePool
): Promise<LoadFigure> {
  let next = 0
  const request = jsonPost('/api/sso/token', (context) => {
    const account = accounts[next++ % accounts.length] as Account
    context.account = account
    return { email: account.email, password: PASSWORD }
  }, (status, body, context) => {
    if (status !== 200) return
    const tempToken = (JSON.parse(body) as { temp_token?: string }).temp_token
    if (tempToken) pool.add({ tempToken, account: context.account as Account })
  })
  return await drive({ url: authUrl, connections, amount: count, request })
}

export interface VerifyPass {
  figure: LoadFigure
  /** Access tokens the pass was given, for the token-checked reads. */
  tokens: string[]
}

/**
 * `POST /api/sso/verify-2fa` once for each challenge, each with the code
 * the account's authenticator shows at the moment the request is built.
 */
export async function verifyPass (
  authUrl: string,
  challenges: Challenge[],
  connections: number,
  pool: ChallengePool,
  overallRate?: number
): Promise<VerifyPass> {
  if (challenges.length === 0) throw new Error('no challenge to verify: did the logins fail?')
  const tokens: string[] = []
  let next = 0
  const request = jsonPost('/api/sso/verify-2fa', () => {
    const challenge = challenges[next++ % challenges.length] as Challenge
    pool.used(challenge.account, currentStep())
    return {
      temp_token: challenge.tempToken,
      totp_code: authenticatorCode(challenge.account.secret)
    }
  }, (status, body) => {
    if (status === 200) tokens.push((JSON.parse(body) as { token: string }).token)
  })

  const figure = await drive({
    url: authUrl,
    connections,
    amount: challenges.length,
    request,
    ...(overallRate === undefined ? {} : { overallRate })
  })
  return { figure, tokens }
}

/** `GET /api/users/me` with the access tokens in turn. */
export async function meRun (
  usersUrl: string,
  tokens: string[],
  connections: number,
  seconds: number
): Promise<LoadFigure> {
  return await drive({
    url: usersUrl,
    connections,
    seconds,
    request: bearerGet('/api/users/me', tokens)
  })
}
