import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { dirname } from 'node:path'
import type { LoadFigure } from './load.js'
import type { Machine } from './machine.js'
import type { StartFigures } from './measurements.js'
import type { Plan } from './plan.js'

/** One goal from the issue, judged on this run's figures; reported, never asserted. */
export interface Target {
  goal: string
  figure: string
  met: boolean | null
}

export interface BenchResult {
  mode: Plan['mode']
  startedAt: string
  seconds: number
  /** One-minute load average when the run ended. */
  loadAtEnd: number
  machine: Machine
  backings: { redis: string, rabbitmq: string, mongodb: string }
  plan: Plan
  starts: StartFigures[]
  targets: Target[]
}

const NAMES = { 'one-process': 'one process', separate: 'separate processes' } as const

/** Rounded down, so a ratio just under a target never reads as meeting it. */
function percent (part: number, whole: number): string {
  return whole > 0 ? `${Math.floor((part / whole) * 100)}%` : 'n/a'
}

function count (value: number): string {
  return Math.round(value).toLocaleString('en-US')
}

function ms (value: number): string {
  return String(Math.round(value * 10) / 10)
}

function memory (rss: Record<string, number | null>): string {
  return Object.entries(rss).map(([name, mb]) => `${name} ${mb ?? '?'} MB`).join(', ')
}

function heaps (figures: StartFigures['heapAfterLogins']): string {
  return Object.entries(figures).map(([name, heap]) =>
    `${name} ${heap.heapUsedMb ?? '?'}/${heap.heapTotalMb ?? '?'} MB, ` +
    `external ${heap.externalMb ?? '?'} MB`).join('; ')
}

function stalls (lags: Record<string, number | null>): string {
  const known = Object.entries(lags).filter(([, lag]) => lag !== null)
  if (known.length === 0) return 'not measured (no nodejs_eventloop_lag_max_seconds in /metrics)'
  return known.map(([name, lag]) => `${name} ${ms(lag as number)} ms`).join(', ')
}

function row (what: string, start: string, figure: LoadFigure, against = '', ratio = ''): string {
  const failed = figure.failed > 0 ? ` (${count(figure.failed)} failed)` : ''
  return `| ${what} | ${start} | ${count(figure.rps)}${failed} | ${ms(figure.p50)} | ` +
    `${ms(figure.p99)} | ${against} | ${ratio} |`
}

function rowsOf (start: StartFigures, plan: Plan): string[] {
  const name = NAMES[start.kind]
  const argon2 = start.argon2.verificationsPerSecond
  const rows = [
    row('POST /api/sso/verify-2fa', name, start.verify,
      `floor ${count(start.verifyFloor.rps)}/s`, percent(start.verify.rps, start.verifyFloor.rps)),
    row(`verify-2fa paced at ${count(start.verifyHalfRate.rate ?? 0)}/s (half of peak)`, name,
      start.verifyHalfRate),
    row('POST /api/sso/token', name, start.login,
      `raw argon2id ${count(argon2)}/s`, percent(start.login.rps, argon2)),
    row('GET /api/users/me', name, start.read,
      `bare token check ${count(start.readFloor.rps)}/s`,
      percent(start.read.rps, start.readFloor.rps))
  ]
  for (const point of start.growth) {
    rows.push(row(`verify-2fa, ${count(point.usersStored)} users stored`, name, point.verify,
      `${count(plan.growth.small - plan.warmup)} verifications`))
  }
  return rows
}

/** The figures as a Markdown table, with memory and stalls below it. */
export function tableOf (result: BenchResult): string {
  const lines = [
    '| measurement | start | req/s | p50 ms | p99 ms | against | ratio |',
    '| --- | --- | ---: | ---: | ---: | --- | ---: |',
    ...result.starts.flatMap((start) => rowsOf(start, result.plan)),
    ''
  ]
  for (const start of result.starts) {
    const name = NAMES[start.kind]
    lines.push(`- ${name}, RSS at start: ${memory(start.rssAtStartMb)}; ` +
      `after ${count(result.plan.logins)} logins: ${memory(start.rssAfterLoginsMb)}; ` +
      `at the end: ${memory(start.rssAtEndMb)}`)
    lines.push(`- ${name}, V8 heap used/reserved after the logins: ` +
      heaps(start.heapAfterLogins))
    lines.push(`- ${name}, longest event loop stall during the logins: ` +
      stalls(start.loginEventLoopMaxMs))
  }
  return lines.join('\n')
}

function growthTarget (one: StartFigures): Target {
  const [small, big] = one.growth
  if (!small || !big) {
    return { goal: 'verify p99 changes < 20% with growth', figure: 'n/a', met: null }
  }
  const change = (big.verify.p99 - small.verify.p99) / small.verify.p99
  return {
    goal: `verify p99 changes < 20% from ${count(small.usersStored)} to ` +
      `${count(big.usersStored)} users`,
    figure: `${ms(small.verify.p99)} → ${ms(big.verify.p99)} ms ` +
      `(${change >= 0 ? '+' : ''}${Math.round(change * 100)}%)`,
    met: Math.abs(change) < 0.2
  }
}

function ratioTarget (goal: string, part: number, whole: number, least: number): Target {
  return { goal, figure: percent(part, whole), met: whole > 0 ? part / whole >= least : null }
}

function memoryTarget (start: StartFigures, logins: number, limitMb: number): Target {
  const sizes = Object.values(start.rssAfterLoginsMb)
  const each = start.kind === 'separate' ? ' per service' : ''
  return {
    goal: `RSS < ${limitMb} MB${each} after ${count(logins)} logins (${NAMES[start.kind]})`,
    figure: memory(start.rssAfterLoginsMb),
    met: sizes.every((mb) => mb !== null) ? sizes.every((mb) => (mb as number) < limitMb) : null
  }
}

/** Judges the targets on this run's figures. */
export function judge (starts: StartFigures[], plan: Plan): Target[] {
  const targets: Target[] = []
  for (const start of starts) {
    const name = NAMES[start.kind]
    const least = start.kind === 'one-process' ? 0.7 : 0.4
    targets.push(
      ratioTarget(`verify ≥ ${least * 100}% of the floor (${name})`,
        start.verify.rps, start.verifyFloor.rps, least),
      ratioTarget(`login ≥ 85% of raw argon2id (${name})`,
        start.login.rps, start.argon2.verificationsPerSecond, 0.85),
      ratioTarget(`token-checked read ≥ 50% of the bare route (${name})`,
        start.read.rps, start.readFloor.rps, 0.5),
      {
        goal: `verify p99 < 25 ms at half of peak (${name})`,
        figure: `${ms(start.verifyHalfRate.p99)} ms`,
        met: start.verifyHalfRate.p99 < 25
      },
      memoryTarget(start, plan.logins, start.kind === 'one-process' ? 200 : 120)
    )
  }
  const one = starts.find((start) => start.kind === 'one-process')
  if (one) targets.push(growthTarget(one))
  return targets
}

export function targetsTable (targets: Target[]): string {
  const verdict = (met: boolean | null): string => met === null ? 'n/a' : met ? 'met' : 'missed'
  return [
    '| target | this run | |',
    '| --- | --- | --- |',
    ...targets.map((t) => `| ${t.goal} | ${t.figure} | ${verdict(t.met)} |`)
  ].join('\n')
}

export function headerOf (result: BenchResult): string {
  const m = result.machine
  return [
    `${result.mode} mode, ${result.startedAt}, ${Math.round(result.seconds)} s, ` +
      `load ${m.loadAtStart} at start and ${result.loadAtEnd} at the end`,
    `machine: ${m.cpu}, ${m.cores} cores, ${m.memoryGb} GB, Node ${m.node}, ` +
      `Linux ${m.kernel}; services run with NODE_OPTIONS=${m.nodeOptions || '(none)'}` +
      ' as in their image',
    `Redis ${result.backings.redis}; RabbitMQ ${result.backings.rabbitmq}; ` +
      `MongoDB: ${result.backings.mongodb}`,
    `accounts seeded through ${result.starts[0]?.seededThrough ?? 'n/a'}; ` +
      `${count(result.plan.accounts)} accounts for the main runs, ` +
      `${count(result.plan.verifies)} verifications per pass, ` +
      `${result.plan.connections.verify} connections ` +
      `(${result.plan.connections.halfRate} paced), ` +
      `${result.plan.connections.login} for logins`
  ].join('\n')
}

export function writeJson (file: string, result: unknown): void {
  mkdirSync(dirname(file), { recursive: true })
  writeFileSync(file, JSON.stringify(result, null, 2) + '\n')
}

const BEGIN = '<!-- bench:begin (written by pnpm bench; edit outside these marks) -->'
const END = '<!-- bench:end -->'

/**
 * Puts the latest full run between the marks of the results file, keeping
 * what was written around them by hand (what the profiles found, say).
 */
export function updateResultsFile (file: string, result: BenchResult): void {
  const block = [
    BEGIN,
    '',
    '```',
    headerOf(result),
    '```',
    '',
    tableOf(result),
    '',
    targetsTable(result.targets),
    '',
    END
  ].join('\n')

  const empty = `# Benchmark results\n\n${BEGIN}\n${END}\n`
  const before = existsSync(file) ? readFileSync(file, 'utf8') : empty
  const start = before.indexOf(BEGIN)
  const end = before.indexOf(END)
  const next = start >= 0 && end > start
    ? before.slice(0, start) + block + before.slice(end + END.length)
    : `${before.trimEnd()}\n\n${block}\n`
  writeFileSync(file, next)
}
