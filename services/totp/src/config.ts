import { z } from 'zod'
import {
  backingUrl,
  booleanFlag,
  checkEvenIfFieldsFail,
  loadConfig,
  logLevel,
  nodeEnv,
  port,
  positiveInt,
  refuseMemoryInProduction,
  shutdownDelaySeconds
} from '@twofa/kit'
import { parseKeyRing, type KeyRing } from './domain/secret-box.js'

const schema = z.object({
  NODE_ENV: nodeEnv,
  LOG_LEVEL: logLevel,
  SHUTDOWN_DELAY_SECONDS: shutdownDelaySeconds,
  HOST: z.string().default('127.0.0.1'),
  PORT: port(8082),
  INTERNAL_HOST: z.string().default('127.0.0.1'),
  INTERNAL_PORT: port(9082),
  INTERNAL_TOKEN: z.string().min(32, 'must be at least 32 characters'),

  REDIS_URL: backingUrl('REDIS_URL', ['redis:', 'rediss:', 'redis-sentinel:']),
  REDIS_PREFIX: z.string().default('twofa:'),
  MONGO_URL: backingUrl('MONGO_URL', ['mongodb:', 'mongodb+srv:']),
  MONGO_DB: z.string().default('twofa_totp'),
  AMQP_URL: backingUrl('AMQP_URL', ['amqp:', 'amqps:']),
  AMQP_EXCHANGE: z.string().default('twofa.events'),
  AMQP_QUEUE_PREFIX: z.string().default('twofa.'),

  JWKS_URL: z.url(),
  /** The user service's internal address; only the ops command line uses it. */
  USER_SERVICE_URL: z.url().optional(),
  TOKEN_ISSUER: z.string().default('twofa'),
  TOKEN_AUDIENCE: z.string().default('twofa'),
  /** Admin routes need a token from a sign-in with a second factor. */
  ADMIN_REQUIRE_2FA: booleanFlag(true),

  TOTP_ISSUER: z.string().min(1).max(64)
    .refine((v) => !v.includes(':'), 'must not contain ":"')
    .default('twofa'),
  TOTP_WINDOW: z.coerce.number().int().min(0).max(2).default(1),
  TOTP_ENCRYPTION_KEYS: z.string({
    error: 'TOTP_ENCRYPTION_KEYS is not set (kid:base64key[,…])'
  }),
  TOTP_ENCRYPTION_KEY_ID: z.string({ error: 'TOTP_ENCRYPTION_KEY_ID is not set' }),
  RECOVERY_CODE_PEPPER: z.string().min(32, 'must be at least 32 characters'),

  CHALLENGE_TTL_SECONDS: positiveInt(300),
  CHALLENGE_MAX_ATTEMPTS: positiveInt(5),
  ENROLLMENT_TTL_SECONDS: positiveInt(600),
  ENROLLMENT_MAX_ATTEMPTS: positiveInt(5),
  LOCKOUT_THRESHOLD: positiveInt(20),
  LOCKOUT_SECONDS: positiveInt(900),
  LOCKOUT_MAX_SECONDS: positiveInt(86_400),
  LOCKOUT_WINDOW_SECONDS: positiveInt(86_400)
}).superRefine((env, ctx) => {
  refuseMemoryInProduction(env, ['REDIS_URL', 'MONGO_URL', 'AMQP_URL'], ctx)
  const { LOCKOUT_SECONDS: first, LOCKOUT_MAX_SECONDS: longest } = env
  if (typeof first === 'number' && typeof longest === 'number' && longest < first) {
    ctx.addIssue({
      code: 'custom',
      path: ['LOCKOUT_MAX_SECONDS'],
      message: 'must be at least LOCKOUT_SECONDS: the longest pause cannot be less than the first'
    })
  }

  const { TOTP_ENCRYPTION_KEYS: keys, TOTP_ENCRYPTION_KEY_ID: kid } = env
  if (typeof keys !== 'string' || typeof kid !== 'string') return
  const ring = parseKeyRing(keys, kid)
  if (Array.isArray(ring)) {
    for (const problem of ring) {
      ctx.addIssue({ code: 'custom', path: ['TOTP_ENCRYPTION_KEYS'], message: problem })
    }
  }
}, checkEvenIfFieldsFail)

/** The settings this service reads; the README's configuration table lists each. */
export const totpSettingNames = Object.keys(schema.shape)

export type TotpConfig = Readonly<z.infer<typeof schema>>

export function loadTotpConfig (env: Record<string, string | undefined>): TotpConfig {
  return loadConfig('totp', schema, env)
}

export function keyRingOf (config: TotpConfig): KeyRing {
  return parseKeyRing(config.TOTP_ENCRYPTION_KEYS, config.TOTP_ENCRYPTION_KEY_ID) as KeyRing
}
