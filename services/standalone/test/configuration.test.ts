import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import t, { type Test } from 'tap'
import { runCommand, type CommandResult } from '@twofa/testing'
import { authSettingNames } from '@twofa/auth'
import { totpSettingNames } from '@twofa/totp'
import { userSettingNames } from '@twofa/user'
import { standaloneSettingNames } from '../src/config.js'
import { resolveSecrets, SECRET_NAMES } from '../src/dev-secrets.js'

const readme = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'README.md')

const settingsOf: Record<string, string[]> = {
  auth: authSettingNames,
  totp: totpSettingNames,
  user: userSettingNames,
  standalone: standaloneSettingNames
}

interface Row {
  names: string[]
  /** The service column: service names, or `all`. */
  services: string[]
}

/** The rows of the table under the README's "Configuration" heading. */
function configurationTable (): Row[] {
  const text = readFileSync(readme, 'utf8')
  const section = text.split(/^## /m).find((part) => part.startsWith('Configuration\n'))
  if (!section) throw new Error('the README has no "## Configuration" section')

  return section.split('\n')
    .filter((line) => line.startsWith('| `'))
    .map((line) => {
      const [names = '', services = ''] = line.split('|').slice(1).map((cell) => cell.trim())
      return {
        names: [...names.matchAll(/`([A-Z][A-Z0-9_]*)`/g)].map((match) => match[1] as string),
        services: services.split(',').map((service) => service.trim())
      }
    })
}

t.test('every setting a service reads has a row in the README naming that service', async (t) => {
  const rows = configurationTable()
  const missing: string[] = []

  for (const [service, names] of Object.entries(settingsOf)) {
    for (const name of names) {
      const documented = rows.some((row) => row.names.includes(name) &&
        (row.services.includes(service) || row.services.includes('all')))
      if (!documented) missing.push(`${name} (${service})`)
    }
  }

  t.same(missing, [], 'settings without a row for their service')
})

t.test('every setting in the README table is read by some service', async (t) => {
  const read = new Set(Object.values(settingsOf).flat())

  const stale = configurationTable().flatMap((row) => row.names).filter((name) => !read.has(name))

  t.same(stale, [], 'rows for settings nothing reads')
})

const server = join(dirname(fileURLToPath(import.meta.url)), '..', 'dist', 'server.js')

/** Runs `pnpm start`'s program with only the given environment and a data directory of its own. */
async function start (t: Test, env: Record<string, string>): Promise<CommandResult> {
  const dataDir = mkdtempSync(join(tmpdir(), 'twofa-config-'))
  t.teardown(() => { rmSync(dataDir, { recursive: true, force: true }) })
  return await runCommand(server, [], { DATA_DIR: dataDir, ...env }, { timeoutMs: 20_000 })
}

t.test('pnpm start lists the problems of every service at once, each by its setting, ' +
  'and exits non-zero', async (t) => {
  const result = await start(t, {
    PORT: 'abc',
    ACCESS_TOKEN_TTL_SECONDS: '0',
    INTERNAL_TOKEN: 'short',
    TOTP_WINDOW: '5',
    LOCKOUT_SECONDS: '100',
    LOCKOUT_MAX_SECONDS: '10',
    TRUST_PROXY: 'not an ip',
    ADMIN_EMAIL: 'notanemail'
  })

  t.not(result.code, 0)
  t.match(result.stderr, /^twofa: cannot start: invalid configuration:$/m)
  // PORT is the start's own, ACCESS_TOKEN_TTL_SECONDS auth's, TOTP_WINDOW totp's, ADMIN_* user's.
  for (const name of ['PORT', 'INTERNAL_TOKEN', 'ACCESS_TOKEN_TTL_SECONDS', 'TOTP_WINDOW',
    'LOCKOUT_MAX_SECONDS', 'TRUST_PROXY', 'ADMIN_EMAIL', 'ADMIN_PASSWORD']) {
    t.match(result.stderr, new RegExp(`^  ${name}: `, 'm'), `${name} is listed`)
  }
  t.equal(result.stderr.match(/^ {2}INTERNAL_TOKEN: /gm)?.length, 1, 'a shared setting once')
  t.notMatch(result.stderr, 'short', 'no value is repeated')
  t.notMatch(result.stderr, 'not an ip', 'not even one that is no secret')
  t.equal(result.stdout, '', 'nothing was started, so nothing was logged')
})

t.test('under NODE_ENV=production pnpm start names each missing secret and unset server ' +
  'together', async (t) => {
  const result = await start(t, { NODE_ENV: 'production', PORT: 'abc' })

  t.not(result.code, 0)
  for (const name of ['PORT', ...SECRET_NAMES, 'REDIS_URL', 'MONGO_URL', 'AMQP_URL']) {
    t.match(result.stderr, new RegExp(`^  ${name}: `, 'm'), `${name} is listed`)
  }
  t.match(result.stderr, /^ {2}SIGNING_KEY: not set \(with NODE_ENV=production/m)
  t.match(result.stderr, /^ {2}REDIS_URL: REDIS_URL is not set/m, 'unset, not a refused stand-in')
})

t.test('under NODE_ENV=production pnpm start refuses the in-memory stand-ins ' +
  'before it logs anything about them', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'twofa-secrets-'))
  t.teardown(() => { rmSync(dir, { recursive: true, force: true }) })
  const { secrets } = resolveSecrets({}, dir)

  const result = await start(t, {
    ...secrets as Record<string, string>,
    NODE_ENV: 'production',
    REDIS_URL: 'memory://',
    MONGO_URL: 'memory://',
    AMQP_URL: 'memory://'
  })

  t.not(result.code, 0)
  for (const name of ['REDIS_URL', 'MONGO_URL', 'AMQP_URL']) {
    t.match(result.stderr, new RegExp(`^  ${name}: in-memory stand-ins are refused`, 'm'))
  }
  t.notMatch(result.stdout, 'in-memory', 'no warning about a stand-in that will not run')
})
