import { z } from 'zod'
import {
  backingUrl,
  booleanFlag,
  checkEvenIfFieldsFail,
  loadConfig,
  logLevel,
  nodeEnv,
  port,
  refuseMemoryInProduction,
  shutdownDelaySeconds,
  trustProxy
} from '@twofa/kit'
import { emailProblem, normaliseEmail } from './domain/emails.js'

const schema = z.object({
  NODE_ENV: nodeEnv,
  LOG_LEVEL: logLevel,
  SHUTDOWN_DELAY_SECONDS: shutdownDelaySeconds,
  HOST: z.string().default('127.0.0.1'),
  PORT: port(8083),
  INTERNAL_HOST: z.string().default('127.0.0.1'),
  INTERNAL_PORT: port(9083),
  INTERNAL_TOKEN: z.string().min(32, 'must be at least 32 characters'),

  MONGO_URL: backingUrl('MONGO_URL', ['mongodb:', 'mongodb+srv:']),
  MONGO_DB: z.string().default('twofa_user'),
  AMQP_URL: backingUrl('AMQP_URL', ['amqp:', 'amqps:']),
  AMQP_EXCHANGE: z.string().default('twofa.events'),
  AMQP_QUEUE_PREFIX: z.string().default('twofa.'),

  JWKS_URL: z.url(),
  TOKEN_ISSUER: z.string().default('twofa'),
  TOKEN_AUDIENCE: z.string().default('twofa'),
  /** Admin routes need a token from a sign-in with a second factor. */
  ADMIN_REQUIRE_2FA: booleanFlag(true),

  REGISTRATION_ENABLED: booleanFlag(true),
  /** Sign-ups per client address per minute, per replica; 0 turns the limit off. */
  REGISTRATION_RATE_PER_MINUTE: z.coerce.number().int().min(0).default(30),
  /** fastify's trustProxy: which proxies may set X-Forwarded-For (e.g. loopback). */
  TRUST_PROXY: trustProxy,
  ADMIN_EMAIL: z.string().superRefine((value, ctx) => {
    // The rule sign-up applies (domain/emails.ts), so start-up fails with its reason.
    const problem = emailProblem(normaliseEmail(value))
    if (problem) ctx.addIssue({ code: 'custom', message: problem })
  }).optional(),
  ADMIN_PASSWORD: z.string().min(12, 'must be at least 12 characters').max(128).optional()
}).superRefine((env, ctx) => {
  refuseMemoryInProduction(env, ['MONGO_URL', 'AMQP_URL'], ctx)
  if ((env.ADMIN_EMAIL === undefined) !== (env.ADMIN_PASSWORD === undefined)) {
    ctx.addIssue({
      code: 'custom',
      path: ['ADMIN_PASSWORD'],
      message: 'ADMIN_EMAIL and ADMIN_PASSWORD go together'
    })
  }
}, checkEvenIfFieldsFail)

/** The settings this service reads; the README's configuration table lists each. */
export const userSettingNames = Object.keys(schema.shape)

export type UserConfig = Readonly<z.infer<typeof schema>>

export function loadUserConfig (env: Record<string, string | undefined>): UserConfig {
  return loadConfig('user', schema, env)
}
