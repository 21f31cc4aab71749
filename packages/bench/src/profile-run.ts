import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import {
  startOneProcess,
  startSeparate,
  type Backings,
  type DeploymentKind
} from './deployments.js'
import { onInterrupt } from './interrupts.js'
import type { Say } from './measurements.js'
import { nowUs, profilesByPid, summarise, type ProfileSummary, type Window } from './profiles.js'
import { apiSeeder, storeSeeder } from './seeding.js'
import { ChallengePool, loginRun, meRun, verifyPass } from './sign-ins.js'

const ACCOUNTS = 600
const WARMUP = 100

/** Runs `work` and notes when it ran, to pick its samples out of the profiles. */
async function within<T> (label: string, windows: Window[], work: () => Promise<T>): Promise<T> {
  const fromUs = nowUs()
  const result = await work()
  windows.push({ label, fromUs, toUs: nowUs() })
  return result
}

/**
 * Where the time goes: starts the system with `node --cpu-prof` in every
 * process, signs in, verifies and reads as the measured runs do, and sums
 * each process's samples of each run by function. Kept apart from the
 * measured runs, since profiling slows what it watches.
 */
export async function profileStart (
  kind: DeploymentKind,
  backings: Backings,
  dir: string,
  workDir: string,
  say: Say
): Promise<ProfileSummary[]> {
  const profileDir = join(dir, kind)
  mkdirSync(profileDir, { recursive: true })
  const nodeArgs = ['--cpu-prof', '--cpu-prof-dir', profileDir, '--cpu-prof-interval', '250']
  const start = kind === 'one-process' ? startOneProcess : startSeparate
  const deployment = await start(backings, { workDir, nodeArgs })
  const forget = onInterrupt(deployment.stop)
  const windows: Window[] = []

  try {
    const seeder = backings.mongoUrl
      ? await storeSeeder(deployment)
      : await apiSeeder(deployment)
    const accounts = await seeder.add(0, ACCOUNTS)
    await seeder.close()
    await deployment.quiet()
    say(`  profiling ${kind}: ${ACCOUNTS} accounts seeded`)

    const pool = new ChallengePool()
    const auth = deployment.urls.auth
    await within('POST /api/sso/token', windows, async () =>
      await loginRun(auth, accounts, ACCOUNTS, 8, pool))
    await verifyPass(auth, await pool.take(WARMUP), 16, pool)
    const { tokens } = await within('POST /api/sso/verify-2fa', windows, async () =>
      await verifyPass(auth, await pool.take(ACCOUNTS - WARMUP), 16, pool))
    await within('GET /api/users/me', windows, async () =>
      await meRun(deployment.urls.users, tokens, 16, 5))
  } finally {
    await deployment.stop()
    forget()
  }

  const files = profilesByPid(profileDir)
  return deployment.processes.flatMap((child) => {
    const file = files.get(child.pid)
    if (!file) {
      say(`  ${child.name} wrote no profile`)
      return []
    }
    return windows.map((window) => summarise(file, `${kind} ${child.name}`, window))
  })
}
