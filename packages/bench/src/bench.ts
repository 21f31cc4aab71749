import { mkdtempSync, rmSync } from 'node:fs'
import { loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Backings } from './deployments.js'
import { cleanUpOnSignals, interrupted } from './interrupts.js'
import { describeMachine, mongoServerName } from './machine.js'
import { measureStart, type StartFigures } from './measurements.js'
import { planFor } from './plan.js'
import { profileStart } from './profile-run.js'
import { formatSummary, type ProfileSummary } from './profiles.js'
import {
  headerOf,
  judge,
  tableOf,
  targetsTable,
  updateResultsFile,
  writeJson,
  type BenchResult
} from './report.js'

const packageDir = join(import.meta.dirname, '..')

const began = Date.now()

function say (line: string): void {
  const seconds = ((Date.now() - began) / 1000).toFixed(0).padStart(4)
  process.stderr.write(`[bench ${seconds} s] ${line}\n`)
}

/** An address without its user name and password, for the report. */
function shown (url: string): string {
  return url.replace(/\/\/[^@/]*@/, '//')
}

function backingsFrom (env: NodeJS.ProcessEnv): Backings {
  return {
    redisUrl: env.REDIS_URL || 'redis://127.0.0.1:6379',
    amqpUrl: env.AMQP_URL || 'amqp://guest:guest@127.0.0.1:5672',
    mongoUrl: env.MONGO_URL || null
  }
}

/** `pnpm bench --profile`: where the time goes in each start, written to results/profile.json. */
async function profile (backings: Backings, workDir: string): Promise<void> {
  const dir = join(packageDir, 'results', 'profiles')
  const summaries: ProfileSummary[] = []
  for (const kind of ['one-process', 'separate'] as const) {
    summaries.push(...await profileStart(kind, backings, dir, workDir, say))
  }
  process.stdout.write(summaries.map(formatSummary).join('\n\n') + '\n')
  writeJson(join(packageDir, 'results', 'profile.json'), summaries)
}

/**
 * `pnpm bench` (full, minutes) or `pnpm bench --short` / BENCH_SHORT=1
 * (seconds): starts the system on loopback, measures it against its floor,
 * prints a table and writes results/latest.json; a full run also updates
 * RESULTS.md. `--profile` profiles the services instead of measuring them.
 */
async function main (): Promise<void> {
  const short = process.argv.includes('--short') ||
    ['1', 'true'].includes(process.env.BENCH_SHORT ?? '')
  cleanUpOnSignals(say)
  const backings = backingsFrom(process.env)
  const plan = planFor(short ? 'short' : 'full')
  const started = new Date()
  const machine = describeMachine()
  const mongodb = backings.mongoUrl
    ? `${shown(backings.mongoUrl)} (${await mongoServerName(backings.mongoUrl)})`
    : "not set: each service's in-memory store"
  const redis = shown(backings.redisUrl)
  const rabbit = shown(backings.amqpUrl)
  say(`${plan.mode} mode; Redis ${redis}, RabbitMQ ${rabbit}, MongoDB ${mongodb}`)

  const workDir = mkdtempSync(join(tmpdir(), 'twofa-bench-'))
  if (process.argv.includes('--profile')) {
    await profile(backings, workDir)
    rmSync(workDir, { recursive: true, force: true })
    return
  }

  const starts: StartFigures[] = []
  try {
    for (const kind of ['one-process', 'separate'] as const) {
      starts.push(await measureStart(kind, backings, plan, workDir, say))
    }
  } catch (error) {
    if (!interrupted()) say(`failed; the services' logs are kept in ${workDir}`)
    throw error
  }
  rmSync(workDir, { recursive: true, force: true })

  const result: BenchResult = {
    mode: plan.mode,
    startedAt: started.toISOString(),
    seconds: (Date.now() - started.getTime()) / 1000,
    loadAtEnd: Math.round((loadavg()[0] ?? 0) * 100) / 100,
    machine,
    backings: { redis: shown(backings.redisUrl), rabbitmq: shown(backings.amqpUrl), mongodb },
    plan,
    starts,
    targets: judge(starts, plan)
  }
  process.stdout.write(`\n${headerOf(result)}\n\n${tableOf(result)}\n\n` +
    `${targetsTable(result.targets)}\n`)
  writeJson(join(packageDir, 'results', 'latest.json'), result)
  if (plan.mode === 'full') updateResultsFile(join(packageDir, 'RESULTS.md'), result)
}

main().catch((error: unknown) => {
  if (interrupted()) return
  process.stderr.write(`bench: ${error instanceof Error ? error.stack : String(error)}\n`)
  process.exit(1)
})
