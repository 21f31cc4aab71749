import { createPrivateKey, randomUUID } from 'node:crypto'
import { MemoryBus, OutboxRelay, createEnvelope } from '@twofa/events'
import { createLogger } from '@twofa/kit'
import { authenticatorCode, signEs256 } from '@twofa/testing'
import { connectTotpBackends, createTotpService, loadTotpConfig } from '@twofa/totp'
import { connectUserBackends, loadUserConfig, type UserBackends } from '@twofa/user'
import type { Deployment } from './deployments.js'
import { hashPassword } from './raw-argon2.js'

/** Every seeded account signs in with this password. */
export const PASSWORD = 'a bench password, long enough'

/** A seeded account with 2FA on: what the bench needs to sign in as it. */
export interface Account {
  email: string
  /** The TOTP secret in base32, as an authenticator app holds it. */
  secret: string
}

export interface Seeder {
  /** How accounts are made, for the report. */
  method: string
  /** Creates the accounts numbered `from` up to `to` (not included). */
  add: (from: number, to: number) => Promise<Account[]>
  close: () => Promise<void>
}

export function emailOf (index: number): string {
  return `user${index}@bench.example`
}

/**
 * The code of the step before this one. Turning 2FA on spends it, so the
 * codes of this step and the next are still unused for the sign-ins.
 */
function previousCode (secret: string): string {
  return authenticatorCode(secret, Date.now() / 1000 - 30)
}

/** Runs `work` for every index in [from, to), `width` at a time, keeping the order of results. */
export async function inParallel<T> (
  from: number,
  to: number,
  width: number,
  work: (index: number) => Promise<T>
): Promise<T[]> {
  const results: T[] = new Array(Math.max(0, to - from))
  let next = from
  const worker = async (): Promise<void> => {
    while (next < to) {
      const index = next++
      results[index - from] = await work(index)
    }
  }
  await Promise.all(Array.from({ length: width }, worker))
  return results
}

async function post (url: string, body: unknown, token?: string): Promise<any> {
  const response = await fetch(url, {
    method: 'POST',
    headers: {
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      ...(token ? { authorization: `Bearer ${token}` } : {})
    },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(30_000)
  })
  const answer = await response.json()
  if (!response.ok) throw new Error(`POST ${url}: ${response.status} ${JSON.stringify(answer)}`)
  return answer
}

/**
 * An access token for a new account, signed here with the deployment's
 * signing key as auth would sign it after a password sign-in, so seeding
 * skips the sign-in's argon2id run.
 */
async function tokenMinter (
  deployment: Deployment
): Promise<(userId: string, email: string) => string> {
  const response = await fetch(`${deployment.urls.auth}/.well-known/jwks.json`)
  const { keys } = await response.json() as { keys: Array<{ kid: string }> }
  const kid = keys[0]?.kid
  if (!kid) throw new Error('auth published no signing key')
  const key = createPrivateKey(deployment.signingKey)

  return (userId, email) => {
    const now = Math.floor(Date.now() / 1000)
    return signEs256(key, kid, {
      sub: userId,
      aud: 'twofa',
      iss: 'twofa',
      iat: now,
      exp: now + 900,
      email,
      roles: ['user'],
      amr: ['pwd'],
      token_use: 'access'
    })
  }
}

/**
 * Accounts made through the public API, as a person makes them: sign-up,
 * 2FA setup and confirmation, with a token minted as a sign-in would give
 * it. Each costs one argon2id run (the hash at sign-up); it is the only way
 * into the services' in-memory stores.
 */
export async function apiSeeder (deployment: Deployment): Promise<Seeder> {
  const { users, totp } = deployment.urls
  const mint = await tokenMinter(deployment)

  const addOne = async (index: number): Promise<Account> => {
    const email = emailOf(index)
    const created = await post(`${users}/api/users`, { email, password: PASSWORD, name: 'Bench' })
    const token = mint(created.id as string, email)
    const { secret } = await post(`${totp}/api/2fa/setup`, undefined, token)

    // A step can turn between reading the clock and the check; the next try is in the new one.
    for (let attempt = 1; ; attempt++) {
      try {
        await post(`${totp}/api/2fa/enable`, { totp_code: previousCode(secret) }, token)
        return { email, secret }
      } catch (error) {
        if (attempt === 3) throw error
      }
    }
  }

  return {
    method: 'the public API (sign-up, 2FA setup; tokens minted as sign-in gives them)',
    add: async (from, to) => await inParallel(from, to, 8, addOne),
    close: async () => {}
  }
}

type NewUser = Parameters<UserBackends['store']['create']>[0]

/**
 * Accounts written through the services' own code: the user store of the
 * user service and the enrollment of the totp service, run in this process
 * against the same MongoDB and Redis as the services under test. All share
 * one password hash, so a hundred thousand accounts cost one argon2id run.
 *
 * The events these writes store go to a bus of this process that nobody
 * reads: sign-in reads nothing they would change, and letting the services
 * relay them would put seeding work into the measurements.
 */
export async function storeSeeder (deployment: Deployment): Promise<Seeder> {
  const log = createLogger({ service: 'bench-seed', level: 'error' })
  const shared = { bus: new MemoryBus(), resolveKey: async () => undefined }
  const userBackends = await connectUserBackends(
    loadUserConfig(deployment.serviceEnv.user), log, shared)
  const totpConfig = loadTotpConfig(deployment.serviceEnv.totp)
  const totpBackends = await connectTotpBackends(totpConfig, log, shared)
  const totp = await createTotpService(totpConfig, log, totpBackends)
  const relays = [
    new OutboxRelay(userBackends.store, shared.bus, log, { intervalMs: 20, batch: 500 }),
    new OutboxRelay(totpBackends.factors, shared.bus, log, { intervalMs: 20, batch: 500 })
  ]
  for (const relay of relays) relay.start()
  const passwordHash = await hashPassword(PASSWORD)

  const addOne = async (index: number): Promise<Account> => {
    const email = emailOf(index)
    const user: NewUser = {
      id: randomUUID(),
      email,
      emailKey: email,
      name: 'Bench',
      passwordHash,
      roles: ['user'],
      twoFactorEnabled: false,
      twoFactorChangedAt: null,
      createdAt: new Date()
    }
    const created = createEnvelope('user.created', { user_id: user.id, email })
    if (await userBackends.store.create(user, created) !== 'created') {
      throw new Error(`${email} exists already`)
    }

    const { secret } = await totp.twoFactor.startEnrollment(user.id, email)
    await totp.twoFactor.confirmEnrollment(user.id, previousCode(secret), log)
    return { email, secret }
  }

  return {
    method: "the services' own store and enrollment code, one shared password hash",
    add: async (from, to) => {
      const accounts = await inParallel(from, to, 16, addOne)
      for (const relay of relays) await relay.flush(600_000)
      return accounts
    },
    close: async () => {
      for (const relay of relays) await relay.stop()
      await totp.close()
      await userBackends.close()
    }
  }
}
