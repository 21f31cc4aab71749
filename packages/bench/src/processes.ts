import { spawn, type ChildProcess } from 'node:child_process'
import { imageNodeOptions } from './image.js'
import { closeSync, openSync, readFileSync } from 'node:fs'
import { waitForOk } from '@twofa/testing'

/** A Node program the bench started, writing its log to a file of its own. */
export interface BenchProcess {
  name: string
  child: ChildProcess
  pid: number
  logFile: string
  /** Sends SIGTERM and waits for the exit; SIGKILL after `graceMs`. */
  stop: (graceMs?: number) => Promise<void>
}

export interface ProcessSpec {
  name: string
  script: string
  env: Record<string, string>
  /** Answers 200 once the process can take requests. */
  readyUrl: string
  logFile: string
  /** Extra arguments for node itself, such as `--cpu-prof`. */
  nodeArgs?: string[]
}

/**
 * Starts a program and waits until it is ready. Its output goes straight to
 * a file, not through the bench, so logging costs the process what it costs
 * in production and nothing here.
 */
export async function startBenchProcess (spec: ProcessSpec): Promise<BenchProcess> {
  const out = openSync(spec.logFile, 'a')
  const child = spawn(process.execPath, [...(spec.nodeArgs ?? []), spec.script], {
    env: { PATH: process.env.PATH ?? '', NODE_OPTIONS: imageNodeOptions(), ...spec.env },
    stdio: ['ignore', out, out]
  })
  closeSync(out)
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))

  const stop = async (graceMs = 15_000): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null) return
    child.kill('SIGTERM')
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs)
    await exited
    clearTimeout(timer)
  }

  try {
    await waitForOk(spec.readyUrl, 30_000, spec.name)
  } catch (error) {
    await stop(1000)
    throw new Error(`${String(error)}\n--- ${spec.name} log ---\n${lastLines(spec.logFile, 20)}`)
  }
  return { name: spec.name, child, pid: child.pid as number, logFile: spec.logFile, stop }
}

/** The end of a log file, to show why a process did not come up. */
export function lastLines (file: string, count: number): string {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-count).join('\n')
  } catch {
    return '(no log)'
  }
}

/** Resident memory of a process in MB, from /proc; null where /proc has no answer. */
export function rssMb (pid: number): number | null {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8')
    const kb = /^VmRSS:\s+(\d+) kB/m.exec(status)?.[1]
    return kb === undefined ? null : Math.round(Number(kb) / 1024)
  } catch {
    return null
  }
}
