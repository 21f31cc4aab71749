import t, { type Test } from 'tap'
import { spawn } from 'node:child_process'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import { existsSync } from 'node:fs'
import { instructionsOf, parseDockerfile, type Stage } from './dockerfile.js'
import { readRepoFile, ROOT } from './tools.js'

const SERVICE_DOCKERFILE = 'deploy/docker/Dockerfile'
const GATEWAY_DOCKERFILE = 'deploy/gateway/Dockerfile'
const SECRET_NAMES = [
  'INTERNAL_TOKEN',
  'SIGNING_KEY',
  'TOTP_ENCRYPTION_KEYS?',
  'RECOVERY_CODE_PEPPER',
  'ADMIN_PASSWORD'
]
const SECRETS = new RegExp(`\\b(${SECRET_NAMES.join('|')})\\b`)

function stagesOf (path: string): { stages: Stage[], final: Stage, defaults: Map<string, string> } {
  const { args, stages } = parseDockerfile(readRepoFile(path))
  const defaults = new Map(args.map((arg) => {
    const [name = '', value = ''] = arg.args.split('=')
    return [name, value]
  }))
  const final = stages.at(-1)
  if (!final) throw new Error(`${path} has no stage`)
  return { stages, final, defaults }
}

/** The base image of a stage with the global ARG defaults filled in. */
function baseOf (stage: Stage, defaults: Map<string, string>): string {
  return stage.base.replace(/\$\{(\w+)\}/g, (_, name: string) => defaults.get(name) ?? '')
}

/** The text of every instruction of a stage with a keyword, one per line. */
function textOf (stage: Stage, keyword: string): string {
  return instructionsOf(stage, keyword).map((instruction) => instruction.args).join('\n')
}

function execForm (args: string): string[] | null {
  try {
    const parsed: unknown = JSON.parse(args)
    return Array.isArray(parsed) ? parsed as string[] : null
  } catch {
    return null
  }
}

function userIsRoot (user: string): boolean {
  const [name] = user.split(':')
  return name === '' || name === '0' || name === 'root'
}

t.test('the service image is built in one stage and run from a Node 20 slim one', async (t) => {
  const { stages, final, defaults } = stagesOf(SERVICE_DOCKERFILE)
  const build = stages.find((stage) => stage.name === 'build')

  t.ok(build, 'a build stage')
  t.equal(final.name, 'runtime')
  t.match(baseOf(final, defaults), /^node:20(\.\d+)*-([a-z]+-)?(slim|alpine)$/)
  t.match(textOf(build as Stage, 'RUN'), /pnpm install --frozen-lockfile/)
  t.match(textOf(build as Stage, 'RUN'), /pnpm run build/)
  t.match(textOf(build as Stage, 'RUN'), /deploy --prod/)
  t.match(textOf(build as Stage, 'ARG'), /^SERVICE$/m, 'SERVICE chooses the service')
})

t.test('the service image runs only what the build stage deployed, with no package manager',
  async (t) => {
    const { final } = stagesOf(SERVICE_DOCKERFILE)
    const copies = instructionsOf(final, 'COPY').map((copy) => copy.args)
    const run = textOf(final, 'RUN')

    t.ok(copies.some((copy) => /^--from=build \/out /.test(copy)), 'the deployed service')
    for (const copy of copies.filter((c) => !c.startsWith('--from='))) {
      t.match(copy, /^deploy\/docker\//, `only image support files come from the context: ${copy}`)
    }
    t.notMatch(run, /(apt-get|apk|npm|pnpm|yarn) (install|add)/, 'nothing installed')
    t.match(run, /rm -rf [^\n]*\/usr\/local\/lib\/node_modules\/npm/, 'npm removed')
  })

t.test('the service image listens on every interface inside the container', async (t) => {
  const { final } = stagesOf(SERVICE_DOCKERFILE)
  const env = textOf(final, 'ENV')

  t.match(env, /\bHOST=0\.0\.0\.0\b/)
  t.match(env, /\bINTERNAL_HOST=0\.0\.0\.0\b/)
  t.match(env, /\bNODE_ENV=production\b/)
})

t.test('both images run as a numbered non-root user', async (t) => {
  for (const path of [SERVICE_DOCKERFILE, GATEWAY_DOCKERFILE]) {
    const users = instructionsOf(stagesOf(path).final, 'USER').map((user) => user.args)
    const last = users.at(-1) ?? ''
    t.ok(users.length > 0, `${path} sets a user`)
    t.notOk(userIsRoot(last), `${path} does not run as root`)
    t.match(last, /^\d+(:\d+)?$/, `${path}: numeric, so runAsNonRoot can check it`)
  }
})

t.test('both images start their process in exec form, so SIGTERM reaches it', async (t) => {
  for (const path of [SERVICE_DOCKERFILE, GATEWAY_DOCKERFILE]) {
    const { final } = stagesOf(path)
    const cmd = instructionsOf(final, 'CMD').at(-1)

    t.ok(cmd && execForm(cmd.args), `${path}: CMD is a JSON array`)
    t.equal(instructionsOf(final, 'ENTRYPOINT').length, 0, `${path}: no wrapper entrypoint`)
  }
  const { final } = stagesOf(SERVICE_DOCKERFILE)
  const cmd = execForm(instructionsOf(final, 'CMD').at(-1)?.args ?? '')
  t.same(cmd, ['node', 'dist/server.js'])
})

t.test('the service image checks its health with node, in exec form', async (t) => {
  const { final } = stagesOf(SERVICE_DOCKERFILE)
  const check = instructionsOf(final, 'HEALTHCHECK').at(-1)?.args ?? ''
  const command = execForm(check.replace(/^.*?\bCMD\s+/, ''))

  t.equal(command?.[0], 'node')
  t.match(command?.[1], /healthcheck\.mjs$/)
  t.ok(existsSync(join(ROOT, 'deploy/docker/healthcheck.mjs')), 'the script is in the repository')
})

t.test('the gateway image serves the built pages with nginx and our configuration',
  async (t) => {
    const { stages, final, defaults } = stagesOf(GATEWAY_DOCKERFILE)
    const build = stages.find((stage) => stage.name === 'build')
    const copies = textOf(final, 'COPY')

    t.match(baseOf(final, defaults), /^nginx:stable-alpine$/)
    t.match(textOf(build as Stage, 'RUN'), /pnpm --filter @twofa\/web build/)
    t.match(copies, /^deploy\/gateway\/nginx\.conf \/etc\/nginx\/nginx\.conf$/m)
    t.match(copies, /^--from=build \/src\/services\/web\/dist /m)
    t.match(textOf(final, 'EXPOSE'), /^8080$/m)
    t.ok(instructionsOf(final, 'HEALTHCHECK').length > 0, 'a health check')
  })

t.test('every file the images copy from the build context exists', async (t) => {
  for (const path of [SERVICE_DOCKERFILE, GATEWAY_DOCKERFILE]) {
    for (const stage of stagesOf(path).stages) {
      for (const copy of instructionsOf(stage, 'COPY')) {
        if (copy.args.startsWith('--from=')) continue
        const sources = copy.args.split(/\s+/).filter((word) => !word.startsWith('--')).slice(0, -1)
        for (const source of sources.filter((s) => s !== '.')) {
          t.ok(existsSync(join(ROOT, source)), `${path}: ${source} exists`)
        }
      }
    }
  }
})

t.test('no secret is set in an image or sent to the build', async (t) => {
  for (const path of [SERVICE_DOCKERFILE, GATEWAY_DOCKERFILE]) {
    for (const stage of stagesOf(path).stages) {
      for (const keyword of ['ENV', 'ARG', 'LABEL']) {
        t.notMatch(textOf(stage, keyword), SECRETS, `${path}: no secret in ${keyword}`)
      }
    }
  }
  const ignored = readRepoFile('.dockerignore').split('\n')
  for (const pattern of ['.env', '.git', '.data', '**/node_modules', '**/dist']) {
    t.ok(ignored.includes(pattern), `.dockerignore leaves out ${pattern}`)
  }
})

/** Runs the image's health check script against a port, as the container would. */
async function healthcheck (port: number): Promise<number | null> {
  const script = join(ROOT, 'deploy/docker/healthcheck.mjs')
  const child = spawn(process.execPath, [script], {
    env: { PATH: process.env.PATH, PORT: String(port) },
    stdio: 'ignore'
  })
  return await new Promise((resolve) => child.on('exit', (code) => resolve(code)))
}

async function listen (t: Test, status: number): Promise<number> {
  const server: Server = createServer((request, response) => {
    response.statusCode = request.url === '/healthz' ? status : 404
    response.end()
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => { server.close() })
  return (server.address() as AddressInfo).port
}

t.test('the health check passes when /healthz answers 200', async (t) => {
  t.equal(await healthcheck(await listen(t, 200)), 0)
})

t.test('the health check fails when /healthz answers 503', async (t) => {
  t.equal(await healthcheck(await listen(t, 503)), 1)
})

t.test('the health check fails when nothing listens', async (t) => {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const port = (server.address() as AddressInfo).port
  await new Promise<void>((resolve) => server.close(() => resolve()))

  t.equal(await healthcheck(port), 1)
})

t.test('the gateway writes its pid file to /tmp, and nginx.conf does not set it twice',
  async (t) => {
    const { final } = stagesOf(GATEWAY_DOCKERFILE)
    const command = execForm(instructionsOf(final, 'CMD').at(-1)?.args ?? '') ?? []
    const conf = readRepoFile('deploy/gateway/nginx.conf')

    t.match(command.join(' '), /pid \/tmp\/[\w.]+;/, 'the pid file is where the nginx user writes')
    t.notMatch(conf, /^\s*(pid|daemon)\s/m, 'nginx refuses a directive given twice')
    t.match(conf, /^\s*listen 8080;/m, 'an unprivileged port, the one the image exposes')
  })

t.test('the quick start runs node with the options the service image sets', async (t) => {
  const { final } = stagesOf(SERVICE_DOCKERFILE)
  const options = /NODE_OPTIONS="([^"]*)"/.exec(textOf(final, 'ENV'))?.[1]
  const start = (JSON.parse(readRepoFile('package.json')) as { scripts: Record<string, string> })
    .scripts.start ?? ''

  t.ok(options, 'the image sets NODE_OPTIONS')
  t.match(start, `node ${options ?? '?'} services/standalone/dist/server.js`)
})
