import { spawnSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseAllDocuments } from 'yaml'
import { programMissing } from '../../packages/testing/dist/skips.js'

/** The repository's top directory. */
export const ROOT = fileURLToPath(new URL('../..', import.meta.url))

export function readRepoFile (path: string): string {
  return readFileSync(join(ROOT, path), 'utf8')
}

export interface ToolResult {
  status: number | null
  stdout: string
  /** What the tool wrote on stderr, or why it could not run at all. */
  stderr: string
}

/**
 * Runs a command-line tool from the repository's top directory with a bare
 * environment, so variables of the caller's shell (REDIS_URL, LOG_LEVEL…)
 * cannot change what the tool sees.
 */
export function runTool (command: string, args: string[]): ToolResult {
  const result = spawnSync(command, args, {
    cwd: ROOT,
    encoding: 'utf8',
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/tmp' },
    timeout: 60_000
  })
  return {
    status: result.status,
    stdout: result.stdout ?? '',
    stderr: result.error ? `${command}: ${result.error.message}` : result.stderr ?? ''
  }
}

/** Why the docker-compose tests skip here (it is not installed), or false. */
export function composeMissing (): string | false {
  const install = 'apt-get install -y --no-install-recommends docker-compose'
  return programMissing('docker-compose', install)
}

/** docker-compose (v1, from Debian) on the top-level compose file. */
export function compose (args: string[], envFile = '.env.example'): ToolResult {
  return runTool('docker-compose', ['--env-file', envFile, '-f', 'docker-compose.yml', ...args])
}

/** Why the kustomize tests skip here (kubectl is not installed), or false. */
export function kubectlMissing (): string | false {
  return programMissing('kubectl', 'install kubectl (it includes kustomize)')
}

/** The objects `kubectl kustomize DIR` renders, DIR relative to the repository. */
export function kustomize (dir: string): ToolResult & { objects: KubeObject[] } {
  const result = runTool('kubectl', ['kustomize', dir])
  const objects = result.status === 0 ? parseYamlStream(result.stdout) : []
  return { ...result, objects }
}

/** A Kubernetes object as rendered: loosely typed, read by field path. */
export interface KubeObject {
  apiVersion: string
  kind: string
  metadata: { name: string, namespace?: string, labels?: Record<string, string> }
  spec?: any
  [field: string]: unknown
}

/** Parses a multi-document YAML stream; a syntax error in any document throws. */
export function parseYamlStream (text: string): KubeObject[] {
  return parseAllDocuments(text).map((document) => {
    if (document.errors.length > 0) throw document.errors[0]
    return document.toJS() as KubeObject
  }).filter((object) => object !== null)
}
