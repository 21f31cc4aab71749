import { readFileSync } from 'node:fs'
import { join } from 'node:path'

const dockerfile = join(import.meta.dirname, '..', '..', '..', 'deploy', 'docker', 'Dockerfile')

/**
 * The NODE_OPTIONS the service image sets, so the bench measures the
 * services as they are shipped; empty when the image sets none.
 */
export function imageNodeOptions (): string {
  const text = readFileSync(dockerfile, 'utf8')
  return /NODE_OPTIONS="([^"]*)"/.exec(text)?.[1] ?? ''
}
