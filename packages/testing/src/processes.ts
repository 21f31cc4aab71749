import { spawn, type ChildProcess } from 'node:child_process'
import { createServer } from 'node:net'

/** A port nothing listens on right now, on loopback. */
export async function freePort (): Promise<number> {
  return await new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const address = server.address()
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0))
    })
  })
}

export interface ServiceProcess {
  name: string
  child: ChildProcess
  /** Everything the process wrote to stdout and stderr so far. */
  output: () => string
  /** Sends SIGTERM and waits for the exit; SIGKILL after `graceMs`. */
  stop: (graceMs?: number) => Promise<number | null>
}

/** Starts a Node program as its own process, keeping its output for the test to read. */
export function startProcess (
  name: string,
  script: string,
  env: Record<string, string>
): ServiceProcess {
  const child = spawn(process.execPath, [script], {
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe']
  })
  let output = ''
  child.stdout?.on('data', (chunk: Buffer) => { output += chunk.toString() })
  child.stderr?.on('data', (chunk: Buffer) => { output += chunk.toString() })

  const exited = new Promise<number | null>((resolve) => {
    child.once('exit', (code) => resolve(code))
  })

  return {
    name,
    child,
    output: () => output,
    stop: async (graceMs = 10_000) => {
      if (child.exitCode !== null || child.signalCode !== null) return child.exitCode
      child.kill('SIGTERM')
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs)
      const code = await exited
      clearTimeout(timer)
      return code
    }
  }
}

/** Polls a URL until it answers 200, or fails after `timeoutMs` naming what it waited for. */
export async function waitForOk (url: string, timeoutMs = 20_000, describe = url): Promise<void> {
  const deadline = Date.now() + timeoutMs
  let last = 'no answer'
  while (Date.now() < deadline) {
    try {
      const response = await fetch(url, { signal: AbortSignal.timeout(1000) })
      if (response.status === 200) return
      last = `status ${response.status}`
    } catch (error) {
      last = String(error)
    }
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  throw new Error(`${describe} not ready after ${timeoutMs} ms (${last})`)
}

export interface CommandResult {
  code: number | null
  stdout: string
  stderr: string
}

/**
 * Runs a Node program to its end, with `input` on its standard input, and
 * returns its exit code and output; kills it after `timeoutMs`.
 */
export async function runCommand (
  script: string,
  args: string[],
  env: Record<string, string>,
  options: { input?: string, timeoutMs?: number } = {}
): Promise<CommandResult> {
  const child = spawn(process.execPath, [script, ...args], {
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: ['pipe', 'pipe', 'pipe']
  })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (chunk: Buffer) => { stdout += chunk.toString() })
  child.stderr.on('data', (chunk: Buffer) => { stderr += chunk.toString() })
  // A program that exits without reading its input closes the pipe first.
  child.stdin.on('error', () => {})
  child.stdin.end(options.input ?? '')

  const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 30_000)
  const code = await new Promise<number | null>((resolve) => {
    child.once('close', (exitCode) => resolve(exitCode))
  })
  clearTimeout(timer)
  return { code, stdout, stderr }
}
