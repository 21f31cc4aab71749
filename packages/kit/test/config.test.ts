import t from 'tap'
import { z } from 'zod'
import {
  backingUrl,
  booleanFlag,
  checkEvenIfFieldsFail,
  ConfigError,
  isMemoryUrl,
  loadConfig,
  logLevel,
  nodeEnv,
  port,
  positiveInt,
  refuseMemoryInProduction
} from '../src/config.js'

/** Shaped like a service's schema, with the production rule where services put it. */
const schema = z.object({
  NODE_ENV: nodeEnv,
  LOG_LEVEL: logLevel,
  PORT: port(8080),
  MAX_ATTEMPTS: positiveInt(5),
  VERBOSE: booleanFlag(false),
  INTERNAL_TOKEN: z.string().min(32, 'must be at least 32 characters'),
  REDIS_URL: backingUrl('REDIS_URL', ['redis:', 'rediss:']),
  AMQP_URL: backingUrl('AMQP_URL', ['amqp:', 'amqps:'])
}).superRefine((env, ctx) => {
  refuseMemoryInProduction(env, ['REDIS_URL', 'AMQP_URL'], ctx)
})

const valid = {
  INTERNAL_TOKEN: 'x'.repeat(32),
  REDIS_URL: 'redis://127.0.0.1:6379',
  AMQP_URL: 'amqp://127.0.0.1:5672'
}

function problemsOf (env: Record<string, string | undefined>): string[] {
  try {
    loadConfig('test', schema, env)
  } catch (error) {
    if (error instanceof ConfigError) return error.problems
    throw error
  }
  return []
}

t.test('a valid environment gives typed values with defaults filled in', async (t) => {
  const config = loadConfig('test', schema, { ...valid, PORT: '9000', VERBOSE: 'yes' })

  t.match(config, {
    NODE_ENV: 'development',
    LOG_LEVEL: 'info',
    PORT: 9000,
    MAX_ATTEMPTS: 5,
    VERBOSE: true
  })
})

t.test('the loaded configuration is frozen', async (t) => {
  const config = loadConfig('test', schema, valid)

  t.ok(Object.isFrozen(config))
  t.throws(() => { (config as { PORT: number }).PORT = 1 }, TypeError)
})

t.test('every problem is listed at once, each naming its variable', async (t) => {
  const problems = problemsOf({
    PORT: 'eighty',
    LOG_LEVEL: 'loud',
    INTERNAL_TOKEN: 'short',
    AMQP_URL: 'http://x'
  })

  t.equal(problems.length, 5, problems.join('; '))
  t.match(problems, [
    /^LOG_LEVEL: /,
    /^PORT: /,
    /^INTERNAL_TOKEN: must be at least 32/,
    /^REDIS_URL: REDIS_URL is not set/,
    /^AMQP_URL: must be a amqp: or amqps: URL/
  ])
})

t.test('the error message names the service and carries every problem', async (t) => {
  const error = t.throws(() => loadConfig('totp', schema, {})) as ConfigError

  t.type(error, ConfigError)
  t.match(error.message, /^totp: invalid configuration: /)
  t.match(error.message, /INTERNAL_TOKEN/)
  t.match(error.message, /REDIS_URL/)
})

t.test('a problem report never repeats the value it refused', async (t) => {
  const problems = problemsOf({
    ...valid,
    INTERNAL_TOKEN: 'hunter2-secret',
    REDIS_URL: 'ftp://user:pa55word@host'
  })

  t.equal(problems.length, 2)
  t.notMatch(problems.join('\n'), /hunter2|pa55word/)
})

t.test('memory:// is accepted outside production', async (t) => {
  const config = loadConfig('test', schema, { ...valid, NODE_ENV: 'test', REDIS_URL: 'memory://' })

  t.equal(config.REDIS_URL, 'memory://')
  t.ok(isMemoryUrl(config.REDIS_URL))
})

t.test('memory:// is refused when NODE_ENV=production', async (t) => {
  const problems = problemsOf({
    ...valid,
    NODE_ENV: 'production',
    REDIS_URL: 'memory://',
    AMQP_URL: 'memory://'
  })

  t.same(problems, [
    'REDIS_URL: in-memory stand-ins are refused when NODE_ENV=production',
    'AMQP_URL: in-memory stand-ins are refused when NODE_ENV=production'
  ])
})

t.test('memory:// in production is reported together with the other problems', async (t) => {
  const problems = problemsOf({
    ...valid,
    NODE_ENV: 'production',
    PORT: 'eighty',
    REDIS_URL: 'memory://'
  })

  t.equal(problems.length, 2, problems.join('; '))
  t.match(problems, [/^PORT: /, /^REDIS_URL: in-memory stand-ins are refused/])
})

t.test('a flag accepts only the spellings it documents', async (t) => {
  t.equal(loadConfig('test', schema, { ...valid, VERBOSE: '0' }).VERBOSE, false)
  t.equal(loadConfig('test', schema, { ...valid, VERBOSE: 'true' }).VERBOSE, true)
  t.match(problemsOf({ ...valid, VERBOSE: 'maybe' }), [/^VERBOSE: /])
})

t.test('a port outside 0-65535 or a non-positive count is refused', async (t) => {
  t.match(
    problemsOf({ ...valid, PORT: '70000', MAX_ATTEMPTS: '0' }),
    [/^PORT: /, /^MAX_ATTEMPTS: /]
  )
})

t.test('memory:// is refused in production even by a schema without the refinement', async (t) => {
  const bare = z.object({ NODE_ENV: nodeEnv, REDIS_URL: backingUrl('REDIS_URL', ['redis:']) })

  const error = t.throws(() =>
    loadConfig('test', bare, { NODE_ENV: 'production', REDIS_URL: 'memory://' }))

  t.same((error as ConfigError).problems, [
    'REDIS_URL: in-memory stand-ins are refused when NODE_ENV=production'
  ])
})

t.test('a whole-object check with checkEvenIfFieldsFail is listed beside a failed field',
  async (t) => {
    const schema = z.object({ A: z.string(), B: z.string().optional() })
      .superRefine((env, ctx) => {
        if (env.B !== 'b') ctx.addIssue({ code: 'custom', path: ['B'], message: 'must be b' })
      }, checkEvenIfFieldsFail)

    const error = t.throws(() => loadConfig('svc', schema, { B: 'x' })) as ConfigError

    t.same(error.problems, [
      'A: A is not set',
      'B: must be b'
    ])
  })

t.test('a missing setting is said to be not set, in a field\'s own words if it has them',
  async (t) => {
    t.same(problemsOf({ ...valid, INTERNAL_TOKEN: undefined, REDIS_URL: undefined }), [
      'INTERNAL_TOKEN: INTERNAL_TOKEN is not set',
      'REDIS_URL: REDIS_URL is not set (give redis://… or memory://)'
    ])
    t.same(problemsOf({ ...valid, INTERNAL_TOKEN: 'short' }), [
      'INTERNAL_TOKEN: must be at least 32 characters'
    ], 'a value that is set but wrong keeps its reason')
  })
