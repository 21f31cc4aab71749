import { spawn, spawnSync } from 'node:child_process'
import {
  closeSync,
  existsSync,
  mkdtempSync,
  openSync,
  readFileSync,
  rmSync,
  writeFileSync
} from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { freePort, programMissing, waitForOk } from '@twofa/testing'
import { repositoryRoot } from './browser.js'

export const NGINX = '/usr/sbin/nginx'

/** Why the gateway cannot run here, or false when it can. */
export function nginxMissing (): string | false {
  return programMissing(NGINX, '.ci/run installs it with apt-get install -y nginx')
}

export interface Upstreams {
  auth: number
  totp: number
  user: number
}

/**
 * The repository's gateway configuration for this machine: the same file
 * with its upstream servers, listen address and page root pointed at
 * loopback and the built pages. Every replacement must hit exactly once, so
 * a change to the file's shape fails here rather than testing something else.
 */
export function renderGatewayConfig (port: number, upstreams: Upstreams, webRoot: string): string {
  let text = readFileSync(join(repositoryRoot, 'deploy/gateway/nginx.conf'), 'utf8')
  const replacements: Array<[string, string]> = [
    ['server auth:8081;', `server 127.0.0.1:${upstreams.auth};`],
    ['server totp:8082;', `server 127.0.0.1:${upstreams.totp};`],
    ['server user:8083;', `server 127.0.0.1:${upstreams.user};`],
    ['listen 8080;', `listen 127.0.0.1:${port};`],
    ['root /usr/share/nginx/html;', `root ${webRoot};`],
    ['worker_processes auto;', 'worker_processes 1;']
  ]
  for (const [from, to] of replacements) {
    const count = text.split(from).length - 1
    if (count !== 1) throw new Error(`nginx.conf: expected "${from}" once, found it ${count} times`)
    text = text.replace(from, to)
  }
  return text
}

export interface Gateway {
  url: string
  /** What nginx wrote to its error log. */
  errors: () => string
  stop: () => Promise<void>
}

/**
 * Runs nginx in the foreground on a free loopback port, with a temporary
 * prefix holding the rendered configuration, its pid file and error log.
 * Stopped by its own PID.
 */
export async function startGateway (upstreams: Upstreams, webRoot: string): Promise<Gateway> {
  const dir = mkdtempSync(join(tmpdir(), 'twofa-gateway-'))
  const port = await freePort()
  const conf = join(dir, 'nginx.conf')
  const errorLog = join(dir, 'error.log')
  writeFileSync(conf, renderGatewayConfig(port, upstreams, webRoot))
  const args = ['-p', `${dir}/`, '-c', conf, '-e', errorLog]
  const globals = `daemon off; pid ${join(dir, 'nginx.pid')}; error_log ${errorLog} warn;`

  // The access log goes to /dev/stdout, which must be a file or a pipe (node's
  // own stdio pipes are sockets, which /dev/stdout cannot be opened on).
  const accessLog = openSync(join(dir, 'access.log'), 'a')
  const stdio: ['ignore', number, 'pipe'] = ['ignore', accessLog, 'pipe']
  const check = spawnSync(NGINX, [...args, '-g', globals, '-t'], { encoding: 'utf8', stdio })
  if (check.status !== 0) {
    closeSync(accessLog)
    throw new Error(`nginx -t refused the configuration:\n${check.stderr}`)
  }

  const child = spawn(NGINX, [...args, '-g', globals], { stdio })
  closeSync(accessLog)
  let stderr = ''
  child.stderr?.on('data', (chunk: Buffer) => { stderr += chunk.toString() })
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  const errors = () => (existsSync(errorLog) ? readFileSync(errorLog, 'utf8') : '') + stderr
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      // SIGQUIT: nginx's graceful stop; SIGTERM after a while.
      child.kill('SIGQUIT')
      const timer = setTimeout(() => child.kill('SIGTERM'), 5000)
      await exited
      clearTimeout(timer)
    }
    rmSync(dir, { recursive: true, force: true })
  }

  const url = `http://127.0.0.1:${port}`
  try {
    await waitForOk(`${url}/`, 10_000, 'nginx')
  } catch (error) {
    const logged = errors()
    await stop()
    throw new Error(`${String(error)}\n${logged}`)
  }
  return { url, errors, stop }
}
