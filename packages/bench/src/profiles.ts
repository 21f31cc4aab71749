import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'

/**
 * A stretch of a run, on the monotonic clock in microseconds: the clock V8
 * stamps profile samples with, which process.hrtime reads in any process of
 * the machine. It picks one run's samples out of a profile of a whole start.
 */
export interface Window {
  label: string
  fromUs: number
  toUs: number
}

export function nowUs (): number {
  return Number(process.hrtime.bigint() / 1000n)
}

export interface Hotspot {
  /** Function, file and line. */
  name: string
  /** Share of the window's busy time spent in the function itself. */
  share: number
}

export interface ProfileSummary {
  process: string
  window: string
  /** Share of the window the main thread was not idle. */
  busy: number
  top: Hotspot[]
  /** Busy time by where the code lives: a package, node's internals, the services. */
  byPlace: Hotspot[]
}

interface CpuProfile {
  nodes: Array<{ id: number, callFrame: { functionName: string, url: string, lineNumber: number } }>
  startTime: number
  samples: number[]
  timeDeltas: number[]
}

function shortUrl (url: string): string {
  const inModules = url.lastIndexOf('node_modules/')
  if (inModules >= 0) return url.slice(inModules + 'node_modules/'.length)
  const inRepo = /\/(services|packages)\/(.*)$/.exec(url)
  return inRepo ? `${inRepo[1]}/${inRepo[2]}` : url.replace(/^file:\/\//, '')
}

function placeOf (frame: { functionName: string, url: string }): string {
  if (frame.url === '') return frame.functionName.startsWith('(') ? frame.functionName : '(native)'
  if (frame.url.startsWith('node:')) return 'node internals'
  const tail = frame.url.slice(frame.url.lastIndexOf('.pnpm/'))
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(tail)
  if (pkg) return pkg[1] as string
  const own = /\/((?:services|packages)\/[^/]+)\//.exec(frame.url)
  return own ? own[1] as string : 'other'
}

function ranked (totals: Map<string, number>, busyUs: number, count: number): Hotspot[] {
  return [...totals.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, count)
    .map(([name, us]) => ({ name, share: busyUs > 0 ? us / busyUs : 0 }))
}

/** Self time by function and by place within one window of a profile. */
export function summarise (file: string, process: string, window: Window): ProfileSummary {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile
  const frames = new Map(profile.nodes.map((node) => [node.id, node.callFrame]))
  const byFunction = new Map<string, number>()
  const byPlace = new Map<string, number>()
  let busyUs = 0
  let idleUs = 0
  let at = profile.startTime

  profile.samples.forEach((nodeId, i) => {
    at += profile.timeDeltas[i] ?? 0
    const spent = profile.timeDeltas[i + 1] ?? 0
    const frame = frames.get(nodeId)
    if (!frame || at < window.fromUs || at > window.toUs) return
    if (frame.functionName === '(idle)') {
      idleUs += spent
      return
    }

    busyUs += spent
    const line = frame.url ? ` ${shortUrl(frame.url)}:${frame.lineNumber + 1}` : ''
    const name = `${frame.functionName || '(anonymous)'}${line}`
    byFunction.set(name, (byFunction.get(name) ?? 0) + spent)
    const place = placeOf(frame)
    byPlace.set(place, (byPlace.get(place) ?? 0) + spent)
  })

  return {
    process,
    window: window.label,
    busy: busyUs + idleUs > 0 ? busyUs / (busyUs + idleUs) : 0,
    top: ranked(byFunction, busyUs, 15),
    byPlace: ranked(byPlace, busyUs, 10)
  }
}

/** The profile each process wrote at exit, by process id (V8 puts the pid in the name). */
export function profilesByPid (dir: string): Map<number, string> {
  const found = new Map<number, string>()
  for (const name of readdirSync(dir)) {
    const pid = /^CPU\.\d+\.\d+\.(\d+)\./.exec(name)?.[1]
    if (pid && name.endsWith('.cpuprofile')) found.set(Number(pid), join(dir, name))
  }
  return found
}

export function formatSummary (summary: ProfileSummary): string {
  const pct = (share: number): string => `${(share * 100).toFixed(1).padStart(5)}%`
  return [
    `${summary.process}, ${summary.window}: main thread busy ${pct(summary.busy)} of the run`,
    '  by place: ' + summary.byPlace.map((h) => `${h.name} ${pct(h.share).trim()}`).join(', '),
    ...summary.top.map((h) => `  ${pct(h.share)}  ${h.name}`)
  ].join('\n')
}
