import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Test } from 'tap'
import { createLogger } from '@twofa/kit'
import { LogCapture } from '@twofa/testing'
import { MemoryBus } from '@twofa/events'
import { buildSystem, resolveSecrets, type System } from '../src/index.js'

export interface Harness {
  system: System
  logs: LogCapture
  /** Seconds since the epoch on the system's pinned clock. */
  seconds: () => number
  advance: (seconds: number) => void
  /** Sends a JSON request to the one-process app. */
  call: (
    method: string,
    url: string,
    body?: unknown,
    token?: string
  ) => Promise<{ status: number, body: any }>
  /** Waits until every event published so far has been handled. */
  settle: () => Promise<void>
}

/**
 * The whole product in one process on in-memory stand-ins, with a clock the
 * test moves and every log line captured.
 */
export async function startHarness (t: Test, env: Record<string, string> = {}): Promise<Harness> {
  const dir = mkdtempSync(join(tmpdir(), 'twofa-'))
  const logs = new LogCapture()
  let now = Date.UTC(2026, 5, 1, 9, 0, 0)

  const { secrets } = resolveSecrets({}, dir)
  const system = await buildSystem(
    { REDIS_URL: 'memory://', MONGO_URL: 'memory://', AMQP_URL: 'memory://', ...secrets, ...env },
    (service) => createLogger({ service, level: 'info', destination: logs }),
    { now: () => now }
  )
  t.teardown(async () => {
    await system.close()
    rmSync(dir, { recursive: true, force: true })
  })

  return {
    system,
    logs,
    seconds: () => Math.floor(now / 1000),
    advance: (seconds) => { now += seconds * 1000 },
    call: async (method, url, body, token) => {
      const response = await system.app.inject({
        method: method as 'GET',
        url,
        headers: {
          ...(token ? { authorization: `Bearer ${token}` } : {}),
          ...(body !== undefined ? { 'content-type': 'application/json' } : {})
        },
        payload: body === undefined ? undefined : JSON.stringify(body)
      })
      return { status: response.statusCode, body: response.body ? response.json() : null }
    },
    settle: async () => {
      await system.totp.publisher.flush()
      await system.user.publisher.flush()
      await system.totp.relay.flush()
      await system.user.relay.flush()
      if (system.bus instanceof MemoryBus) await system.bus.drain()
    }
  }
}
