import { randomBytes, randomUUID } from 'node:crypto'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { authenticatorCode, deleteRedisPrefix, freePort, uniqueName } from '@twofa/testing'
import type { Backings } from './deployments.js'
import type { FloorFixture } from './floor-server.js'
import { bearerGet, drive, jsonPost, type LoadFigure } from './load.js'
import { startBenchProcess, type BenchProcess } from './processes.js'

const BASE32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567'

function randomSecret (): string {
  return [...randomBytes(32)].map((byte) => BASE32[byte % 32]).join('')
}

/** The bare floor process, with the challenges it answers. */
export interface Floor {
  url: string
  process: BenchProcess
  /** Drives `POST /floor/verify-2fa` with a valid code on every request. */
  verify: (connections: number, seconds: number) => Promise<LoadFigure>
  /** Drives `GET /floor/me` with the given access tokens in turn. */
  me: (tokens: string[], connections: number, seconds: number) => Promise<LoadFigure>
  stop: () => Promise<void>
}

/**
 * Starts the floor on loopback with a deployment's signing key, so it signs
 * and verifies the same kind of ES256 tokens, and its own Redis prefix.
 */
export async function startFloor (
  backings: Backings,
  signingKey: string,
  workDir: string
): Promise<Floor> {
  const run = uniqueName('bench_floor')
  const fixture: FloorFixture = {
    signingKey,
    ttlSeconds: 3600,
    challenges: Array.from({ length: 1000 }, (_, i) =>
      ({ id: randomUUID(), userId: `floor-user-${i}`, secret: randomSecret() }))
  }
  const fixtureFile = join(workDir, `${run}.json`)
  writeFileSync(fixtureFile, JSON.stringify(fixture), { mode: 0o600 })

  const port = await freePort()
  const url = `http://127.0.0.1:${port}`
  const child = await startBenchProcess({
    name: 'floor',
    script: join(import.meta.dirname, 'floor-server.js'),
    env: {
      PORT: String(port),
      REDIS_URL: backings.redisUrl,
      REDIS_PREFIX: `${run}:`,
      FLOOR_FIXTURE: fixtureFile
    },
    readyUrl: `${url}/readyz`,
    logFile: join(workDir, `${run}.log`)
  })

  let next = 0
  const verifyRequest = jsonPost('/floor/verify-2fa', () => {
    const challenge = fixture.challenges[next++ % fixture.challenges.length] as
      FloorFixture['challenges'][number]
    return { challenge_id: challenge.id, totp_code: authenticatorCode(challenge.secret) }
  })

  return {
    url,
    process: child,
    verify: async (connections, seconds) =>
      await drive({ url, connections, seconds, request: verifyRequest }),
    me: async (tokens, connections, seconds) =>
      await drive({ url, connections, seconds, request: bearerGet('/floor/me', tokens) }),
    stop: async () => {
      await child.stop()
      await deleteRedisPrefix(backings.redisUrl, `${run}:`)
    }
  }
}
