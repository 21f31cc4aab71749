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
  const result = schema.safeParse(env)

  if (!result.success) {
    const problems = result.error.issues.map((issue) => {
      const name = issue.path.join('.') || '(environment)'
      return `${name}: ${issue.message}`
    })
    throw new ConfigError(service, problems)
  }

  return Object.freeze(result.data)
}

/** An environment flag: "true"/"1"/"yes" and "false"/"0"/"no". */
export const booleanFlag = (fallback: boolean) => z
  .enum(['true', 'false', '1', '0', 'yes', 'no'])
  .optional()
  .transform((value) => value === undefined ? fallback : ['true', '1', 'yes'].includes(value))

/** A TCP port given as a string in the environment. */
export const port = (fallback: number) => z.coerce.number().int().min(0).max(65535).default(fallback)

/** A positive integer given as a string in the environment. */
export const positiveInt = (fallback: number) => z.coerce.number().int().positive().default(fallback)

export const logLevel = z
  .enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'])
  .default('info')

export const nodeEnv = z.enum(['development', 'production', 'test']).default('development')

/**
 * A backing-service address. `memory://` names the in-memory stand-in, which
 * is only ever used when asked for by name and never in production.
 */
export function backingUrl (name: string, protocols: string[]) {
  return z.string({ error: `${name} is not set (give ${protocols[0]}//… or memory://)` })
    .refine((value) => {
      try {
        const url = new URL(value)
        return url.protocol === 'memory:' || protocols.includes(url.protocol)
      } catch {
        return false
      }
    }, { message: `must be a ${protocols.join(' or ')} URL, or memory://` })
}

/** True when a backing-service address names the in-memory stand-in. */
export function isMemoryUrl (value: string): boolean {
  return value.startsWith('memory:')
}

/**
 * Adds the rule that stand-ins are refused in production to a config schema's
 * result. Call from a `superRefine` on the whole environment object.
 */
export function refuseMemoryInProduction (
  env: { NODE_ENV: string } & Record<string, unknown>,
  keys: string[],
  ctx: z.RefinementCtx
): void {
  if (env.NODE_ENV !== 'production') return

  for (const key of keys) {
    const value = env[key]
    if (typeof value === 'string' && isMemoryUrl(value)) {
      ctx.addIssue({
        code: 'custom',
        path: [key],
        message: 'in-memory stand-ins are refused when NODE_ENV=production'
      })
    }
  }
}
