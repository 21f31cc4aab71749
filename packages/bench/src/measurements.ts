import {
  startOneProcess,
  startSeparate,
  type Backings,
  type Deployment,
  type DeploymentKind
} from './deployments.js'
import { startFloor, type Floor } from './floor.js'
import { onInterrupt } from './interrupts.js'
import type { LoadFigure } from './load.js'
import type { Plan } from './plan.js'
import { eventLoopMaxima, heapsOf, residentMemory, type HeapFigures } from './probes.js'
import { measureArgon2, type Argon2Figure } from './raw-argon2.js'
import { apiSeeder, storeSeeder, type Account, type Seeder } from './seeding.js'
import { ChallengePool, loginRun, meRun, verifyPass } from './sign-ins.js'

export interface GrowthPoint {
  usersStored: number
  verify: LoadFigure
}

/** Everything measured on one start of the system. */
export interface StartFigures {
  kind: DeploymentKind
  seededThrough: string
  argon2: Argon2Figure
  login: LoadFigure
  /** Longest event loop stall of each process during the login run, in ms. */
  loginEventLoopMaxMs: Record<string, number | null>
  rssAtStartMb: Record<string, number | null>
  rssAfterLoginsMb: Record<string, number | null>
  heapAfterLogins: Record<string, HeapFigures>
  verifyFloor: LoadFigure
  verify: LoadFigure
  verifyHalfRate: LoadFigure
  readFloor: LoadFigure
  read: LoadFigure
  rssAtEndMb: Record<string, number | null>
  growth: GrowthPoint[]
}

export type Say = (line: string) => void

/** Grows the stored accounts to `total`, keeping the list of them. */
async function seedTo (
  seeder: Seeder,
  accounts: Account[],
  total: number,
  say: Say
): Promise<void> {
  if (accounts.length >= total) return
  const started = Date.now()
  accounts.push(...await seeder.add(accounts.length, total))
  say(`  seeded ${accounts.length} accounts in ${((Date.now() - started) / 1000).toFixed(1)} s`)
}

/** Signs the `small` newest accounts in and verifies each once: one growth point. */
async function growthPoint (session: Session, plan: Plan, say: Say): Promise<GrowthPoint> {
  const { deployment, accounts, pool } = session
  const sample = accounts.slice(-plan.growth.small)
  await loginRun(deployment.urls.auth, sample, sample.length, plan.connections.login, pool)
  await warmUp(session, plan)
  const challenges = await pool.take(sample.length - plan.warmup)
  const { figure } = await verifyPass(
    deployment.urls.auth, challenges, plan.connections.verify, pool)
  say(`  verify with ${accounts.length} users stored: ${describe(figure)}`)
  return { usersStored: accounts.length, verify: figure }
}

/** A verification pass that is not measured: the first requests of a path run cold code. */
async function warmUp (session: Session, plan: Plan): Promise<void> {
  const challenges = await session.pool.take(plan.warmup)
  await verifyPass(session.deployment.urls.auth, challenges, plan.connections.verify, session.pool)
}

export function describe (figure: LoadFigure): string {
  const failed = figure.failed > 0 ? `, ${figure.failed} failed` : ''
  return `${Math.round(figure.rps)}/s, p50 ${figure.p50} ms, p99 ${figure.p99} ms${failed}`
}

interface Session {
  deployment: Deployment
  floor: Floor
  accounts: Account[]
  /** One pool for the whole start, so no account verifies twice in a step. */
  pool: ChallengePool
}

/** The main runs: logins, verify at peak and at half of it, token-checked reads. */
async function mainRuns (session: Session, plan: Plan, say: Say) {
  const { deployment, floor, accounts, pool } = session

  const argon2 = await measureArgon2(plan.seconds, plan.connections.login)
  say(`  raw argon2id: ${Math.round(argon2.verificationsPerSecond)} verifications/s`)
  await eventLoopMaxima(deployment)
  const login = await loginRun(
    deployment.urls.auth, accounts.slice(0, plan.accounts), plan.logins,
    plan.connections.login, pool)
  const loginEventLoopMaxMs = await eventLoopMaxima(deployment)
  const rssAfterLoginsMb = residentMemory(deployment)
  const heapAfterLogins = await heapsOf(deployment)
  say(`  login: ${describe(login)}; RSS ${JSON.stringify(rssAfterLoginsMb)} MB`)

  await warmUp(session, plan)
  const verifyFloor = await floor.verify(plan.connections.verify, plan.seconds)
  say(`  floor verify: ${describe(verifyFloor)}`)
  const peak = await verifyPass(
    deployment.urls.auth, await pool.take(plan.verifies), plan.connections.verify, pool)
  say(`  verify: ${describe(peak.figure)}`)
  const half = await verifyPass(
    deployment.urls.auth, await pool.take(plan.verifies), plan.connections.halfRate, pool,
    peak.figure.rps / 2)
  say(`  verify at half of peak: ${describe(half.figure)}`)

  const tokens = [...peak.tokens, ...half.tokens]
  const readFloor = await floor.me(tokens, plan.connections.read, plan.seconds)
  say(`  floor token check: ${describe(readFloor)}`)
  const read = await meRun(deployment.urls.users, tokens, plan.connections.read, plan.seconds)
  say(`  GET /api/users/me: ${describe(read)}`)

  return {
    argon2,
    login,
    loginEventLoopMaxMs,
    rssAfterLoginsMb,
    heapAfterLogins,
    verifyFloor,
    verify: peak.figure,
    verifyHalfRate: half.figure,
    readFloor,
    read
  }
}

/**
 * Starts one kind of deployment, seeds it, runs every measurement on it and
 * stops it, leaving nothing behind. The growth points are taken on the
 * one-process start only: the stores are the same in both.
 */
export async function measureStart (
  kind: DeploymentKind,
  backings: Backings,
  plan: Plan,
  workDir: string,
  say: Say
): Promise<StartFigures> {
  say(`${kind === 'one-process' ? 'one process' : 'separate processes'}:`)
  const start = kind === 'one-process' ? startOneProcess : startSeparate
  const deployment = await start(backings, { workDir })
  const rssAtStartMb = residentMemory(deployment)
  const forgetDeployment = onInterrupt(deployment.stop)
  let floor: Floor | null = null
  let forgetFloor = (): void => {}
  let seeder: Seeder | null = null
  try {
    floor = await startFloor(backings, deployment.signingKey, workDir)
    forgetFloor = onInterrupt(floor.stop)
    seeder = backings.mongoUrl ? await storeSeeder(deployment) : await apiSeeder(deployment)
    const accounts: Account[] = []
    const session = { deployment, floor, accounts, pool: new ChallengePool() }
    const growth: GrowthPoint[] = []

    if (kind === 'one-process') {
      await seedTo(seeder, accounts, plan.growth.small, say)
      await deployment.quiet()
      growth.push(await growthPoint(session, plan, say))
    }
    await seedTo(seeder, accounts, plan.accounts, say)
    await deployment.quiet()
    const main = await mainRuns(session, plan, say)
    const rssAtEndMb = residentMemory(deployment)

    if (kind === 'one-process') {
      await seedTo(seeder, accounts, plan.growth.big, say)
      await deployment.quiet()
      growth.push(await growthPoint(session, plan, say))
    }
    return { kind, seededThrough: seeder.method, ...main, rssAtStartMb, rssAtEndMb, growth }
  } finally {
    await seeder?.close()
    await floor?.stop()
    forgetFloor()
    await deployment.stop()
    forgetDeployment()
  }
}
