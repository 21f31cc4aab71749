import { isIP } from 'node:net'
import { z } from 'zod'

/** Raised at start when the environment does not satisfy a service's schema. */
export class ConfigError extends Error {
  readonly problems: string[]

  constructor (service: string, problems: string[]) {
    super(`${service}: invalid configuration: ${problems.join('; ')}`)
    this.name = 'ConfigError'
    this.problems = problems
  }
}

/**
 * Checks the environment against a schema once, at start. Every problem is
 * reported together so an operator fixes them in one pass, and the result is
 * frozen so nothing can change it later.
 */
export function loadConfig<S extends z.ZodType> (
  service: string,
  schema: S,
  env: Record<string, string | undefined>
): Readonly<z.infer<S>> {
  const result = schema.safeParse(env, { error: notSetMessage })
  const problems = result.success
    ? []
    : result.error.issues.map((issue) =>
      `${issue.path.join('.') || '(environment)'}: ${issue.message}`)

  // zod skips a schema's whole-object refinements once any field has failed,
  // so the stand-in rule is applied here too, to the raw values.
  for (const key of standInsInProduction(env, backingKeysOf(schema))) {
    const problem = `${key}: ${STAND_IN_REFUSED}`
    if (!problems.includes(problem)) problems.push(problem)
  }

  if (!result.success || problems.length > 0) throw new ConfigError(service, problems)
  return Object.freeze(result.data)
}

/**
 * zod's own words for a missing value name types ("expected string, received
 * undefined"); an operator needs the name of the setting. A field's own
 * message, like `backingUrl`'s, still comes first.
 */
function notSetMessage (issue: z.core.$ZodRawIssue): string | undefined {
  if (issue.code !== 'invalid_type' || issue.input !== undefined) return undefined
  return `${issue.path?.join('.') ?? 'a setting'} is not set`
}

/** An environment flag: "true"/"1"/"yes" and "false"/"0"/"no". */
export const booleanFlag = (fallback: boolean) => z
  .enum(['true', 'false', '1', '0', 'yes', 'no'])
  .optional()
  .transform((value) => value === undefined ? fallback : ['true', '1', 'yes'].includes(value))

/** A TCP port given as a string in the environment. */
export const port = (fallback: number) =>
  z.coerce.number().int().min(0).max(65535).default(fallback)

/** A positive integer given as a string in the environment. */
export const positiveInt = (fallback: number) =>
  z.coerce.number().int().positive().default(fallback)

export const logLevel = z
  .enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'])
  .default('info')

const PROXY_NAMES = new Set(['loopback', 'linklocal', 'uniquelocal'])

/** One entry of a TRUST_PROXY list: a name fastify knows, an address, or address/prefix. */
function proxyEntryValid (entry: string): boolean {
  if (PROXY_NAMES.has(entry)) return true
  const [address = '', prefix, ...rest] = entry.split('/')
  const family = isIP(address)
  if (family === 0 || rest.length > 0) return false
  if (prefix === undefined) return true
  if (isIP(prefix) === family) return true
  const bits = /^\d{1,3}$/.test(prefix) ? Number(prefix) : -1
  return bits >= 0 && bits <= (family === 4 ? 32 : 128)
}

/**
 * What is wrong with a TRUST_PROXY value, or null: fastify would otherwise
 * refuse it only when the app is built, after the stores have started, and
 * without naming the setting.
 */
export function trustProxyProblem (setting: string): string | null {
  if (['', 'true', 'false'].includes(setting)) return null
  const entries = setting.split(',').map((entry) => entry.trim())
  const bad = entries.flatMap((entry, i) => proxyEntryValid(entry) ? [] : [i + 1])
  if (bad.length === 0) return null
  return 'must be true, false, or a comma-separated list of addresses, address/prefix ' +
    'ranges and the names loopback, linklocal, uniquelocal ' +
    `(entry ${bad.join(', ')} of ${entries.length} is not)`
}

/** fastify's trustProxy, checked here: which proxies may set X-Forwarded-For. */
export const trustProxy = z.string().superRefine((value, ctx) => {
  const problem = trustProxyProblem(value)
  if (problem) ctx.addIssue({ code: 'custom', message: problem })
}).optional()

export const nodeEnv = z.enum(['development', 'production', 'test']).default('development')

/** Fields declared with `backingUrl`, so `loadConfig` can find them in a schema. */
const backingFields = new WeakSet<z.ZodType>()

function backingKeysOf (schema: z.ZodType): string[] {
  if (!(schema instanceof z.ZodObject)) return []
  return Object.entries(schema.shape as Record<string, z.ZodType>)
    .filter(([, field]) => backingFields.has(field))
    .map(([key]) => key)
}

/**
 * A backing-service address. `memory://` names the in-memory stand-in, which
 * is only ever used when asked for by name and never in production:
 * `loadConfig` refuses it there.
 */
export function backingUrl (name: string, protocols: string[]) {
  const field = z.string({ error: `${name} is not set (give ${protocols[0]}//… or memory://)` })
    .refine((value) => {
      // The scheme alone: a Sentinel address lists several hosts, which URL rejects.
      const scheme = /^([a-z][a-z0-9+.-]*:)\/\//.exec(value)?.[1]
      return scheme === 'memory:' || (scheme !== undefined && protocols.includes(scheme))
    }, { message: `must be a ${protocols.join(' or ')} URL, or memory://` })

  backingFields.add(field)
  return field
}

/** True when a backing-service address names the in-memory stand-in. */
export function isMemoryUrl (value: string): boolean {
  return value.startsWith('memory:')
}

const STAND_IN_REFUSED = 'in-memory stand-ins are refused when NODE_ENV=production'

function standInsInProduction (env: Record<string, unknown>, keys: string[]): string[] {
  if (env.NODE_ENV !== 'production') return []
  return keys.filter((key) => {
    const value = env[key]
    return typeof value === 'string' && isMemoryUrl(value)
  })
}

/**
 * Adds the rule that stand-ins are refused in production to a config schema's
 * result, for keys not declared with `backingUrl` (`loadConfig` covers those
 * itself). Call from a `superRefine` on the whole environment object.
 */
export function refuseMemoryInProduction (
  env: { NODE_ENV: string } & Record<string, unknown>,
  keys: string[],
  ctx: z.RefinementCtx
): void {
  for (const key of standInsInProduction(env, keys)) {
    ctx.addIssue({ code: 'custom', path: [key], message: STAND_IN_REFUSED })
  }
}

/**
 * Seconds between readiness turning false and the listener closing on
 * SIGTERM; the whole shutdown must fit in its 10-second bound.
 */
export const shutdownDelaySeconds = z.coerce.number().min(0).max(8).default(0)

/**
 * Options for a config schema's whole-object `superRefine`: zod skips such a
 * check once any field has failed, and these make it run anyway, so an
 * operator sees every problem at once. The check must then expect any field
 * to be missing or of the wrong type.
 */
export const checkEvenIfFieldsFail = { when: () => true }
