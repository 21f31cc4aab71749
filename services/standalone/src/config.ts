import { z } from 'zod'
import { ConfigError, loadConfig, logLevel, port, shutdownDelaySeconds } from '@twofa/kit'
import { loadAuthConfig, type AuthConfig } from '@twofa/auth'
import { loadTotpConfig, type TotpConfig } from '@twofa/totp'
import { loadUserConfig, type UserConfig } from '@twofa/user'
import { resolveSecrets } from './dev-secrets.js'

type Environment = Record<string, string | undefined>

/**
 * The one-process start's own settings. The three services it runs read
 * theirs from the same environment, each with its own schema.
 */
const schema = z.object({
  HOST: z.string().default('127.0.0.1'),
  PORT: port(8080),
  LOG_LEVEL: logLevel,
  DATA_DIR: z.string().default('.data'),
  SHUTDOWN_DELAY_SECONDS: shutdownDelaySeconds
})

/** The settings the one-process start reads; the README's configuration table lists each. */
export const standaloneSettingNames = Object.keys(schema.shape)

export type StandaloneConfig = Readonly<z.infer<typeof schema>>

export function loadStandaloneConfig (env: Environment): StandaloneConfig {
  return loadConfig('standalone', schema, env)
}

/** The setting a problem of a ConfigError names: the part before its first colon. */
function settingOf (problem: string): string {
  return problem.slice(0, problem.indexOf(':'))
}

/**
 * Problems of several configurations, gathered so that one ConfigError lists
 * them all. A setting an earlier step reported is not reported again by a
 * later one (every service reads PORT, and says the same about it).
 */
class ConfigProblems {
  private readonly problems: string[] = []

  add (found: string[]): void {
    const reported = new Set(this.problems.map(settingOf))
    this.problems.push(...found.filter((problem) => !reported.has(settingOf(problem))))
  }

  /** Runs a loader; on a ConfigError keeps its problems and gives undefined. */
  load<T> (loader: () => T): T | undefined {
    try {
      return loader()
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error
      this.add(error.problems)
      return undefined
    }
  }

  error (): ConfigError {
    return new ConfigError('twofa', this.problems)
  }
}

/** The settings of the three services the one-process start runs. */
export interface ServiceConfigs {
  auth: AuthConfig
  totp: TotpConfig
  user: UserConfig
}

/**
 * Checks each service's settings in the environment the one-process start
 * gives it (the internal addresses are answered in process), before anything
 * connects, and lists the problems of all three in one ConfigError.
 */
export function loadServiceConfigs (env: Environment): ServiceConfigs {
  const problems = new ConfigProblems()
  const auth = problems.load(() => loadAuthConfig({
    ...env,
    USER_SERVICE_URL: 'http://user.internal',
    TOTP_SERVICE_URL: 'http://totp.internal'
  }))
  const verifiedEnv = { ...env, JWKS_URL: 'http://auth.internal/.well-known/jwks.json' }
  const totp = problems.load(() => loadTotpConfig(verifiedEnv))
  const user = problems.load(() => loadUserConfig(verifiedEnv))

  if (auth === undefined || totp === undefined || user === undefined) throw problems.error()
  return { auth, totp, user }
}

/**
 * What `pnpm start` runs on when no server is named. Production names every
 * server, so there an unset address is reported as unset.
 */
const STAND_INS = { REDIS_URL: 'memory://', MONGO_URL: 'memory://', AMQP_URL: 'memory://' }

export interface SystemConfig {
  standalone: StandaloneConfig
  /** The environment the services run with: stand-ins where no server is named, and secrets. */
  env: Environment
  /** The file the development secrets came from or went to, when any were used. */
  secretsFile: string | null
}

/**
 * Checks every setting `pnpm start` needs, its own and each service's, and
 * lists every problem of all of them in one ConfigError, so an operator
 * fixes them in one pass. Outside production, secrets not in the
 * environment come from the data directory's file.
 */
export function loadSystemConfig (env: Environment): SystemConfig {
  const problems = new ConfigProblems()
  const standalone = problems.load(() => loadStandaloneConfig(env))

  // Any path will do for DATA_DIR, so the secrets are found even when another setting is wrong.
  const { secrets, file, missing } = resolveSecrets(env, schema.shape.DATA_DIR.parse(env.DATA_DIR))
  problems.add(missing.map((name) =>
    `${name}: not set (with NODE_ENV=production no secret is generated)`))
  const production = env.NODE_ENV === 'production'
  const servicesEnv: Environment = { ...(production ? {} : STAND_INS), ...env, ...secrets }
  const services = problems.load(() => loadServiceConfigs(servicesEnv))

  if (standalone === undefined || services === undefined) throw problems.error()
  return { standalone, env: servicesEnv, secretsFile: file }
}
