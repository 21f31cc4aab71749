import { readFileSync } from 'node:fs'
import { join } from 'node:path'

const dockerfile = join(import.meta.dirname, '..', '..', '..', 'deploy', 'docker', 'Dockerfile')

/** Read once per bench run: every process it starts takes the same options. */
let read: string | undefined

/**
 * The NODE_OPTIONS the service image sets, so the bench measures the
 * services as they are shipped; empty when the image sets none.
 */
export function imageNodeOptions (): string {
  read ??= /NODE_OPTIONS="([^"]*)"/.exec(readFileSync(dockerfile, 'utf8'))?.[1] ?? ''
  return read
}
