import { hash, verify } from '@node-rs/argon2'

/**
 * The password hash parameters of the user service (argon2id, 19 MiB, two
 * passes, one lane). Kept equal by hand: the raw figure is only a fair
 * ceiling for sign-in while both hash alike.
 */
export const ARGON2_PARAMS = {
  algorithm: 2 as const,
  memoryCost: 19_456,
  timeCost: 2,
  parallelism: 1
}

export async function hashPassword (password: string): Promise<string> {
  return await hash(password, ARGON2_PARAMS)
}

export interface Argon2Figure {
  verificationsPerSecond: number
  /** Verifications in flight at once. */
  concurrency: number
  seconds: number
}

/**
 * Raw argon2id verifications per second in this process, on the same cores
 * and the same thread pool size as a service: the ceiling for sign-in.
 */
export async function measureArgon2 (seconds: number, concurrency: number): Promise<Argon2Figure> {
  const stored = await hashPassword('the ceiling of every sign-in')
  const deadline = performance.now() + seconds * 1000
  let done = 0

  const worker = async (): Promise<void> => {
    while (performance.now() < deadline) {
      await verify(stored, 'the ceiling of every sign-in')
      done++
    }
  }
  const started = performance.now()
  await Promise.all(Array.from({ length: concurrency }, worker))
  const elapsed = (performance.now() - started) / 1000

  return { verificationsPerSecond: done / elapsed, concurrency, seconds: elapsed }
}
