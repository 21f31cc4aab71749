import { z } from 'zod'
import {
  backingUrl,
  loadConfig,
  logLevel,
  nodeEnv,
  port,
  positiveInt,
  shutdownDelaySeconds,
  trustProxy
} from '@twofa/kit'

const schema = z.object({
  NODE_ENV: nodeEnv,
  LOG_LEVEL: logLevel,
  SHUTDOWN_DELAY_SECONDS: shutdownDelaySeconds,
  HOST: z.string().default('127.0.0.1'),
  PORT: port(8081),
  INTERNAL_TOKEN: z.string().min(32, 'must be at least 32 characters'),
  USER_SERVICE_URL: z.url({
    error: 'USER_SERVICE_URL is not set (the user service internal address)'
  }),
  TOTP_SERVICE_URL: z.url({
    error: 'TOTP_SERVICE_URL is not set (the totp service internal address)'
  }),

  /** PEM, PKCS#8, of an EC P-256 private key. */
  SIGNING_KEY: z.string({ error: 'SIGNING_KEY is not set (a PEM EC P-256 private key)' })
    .refine((value) => value.includes('PRIVATE KEY'), 'must be a PEM private key'),
  TOKEN_ISSUER: z.string().default('twofa'),
  TOKEN_AUDIENCE: z.string().default('twofa'),
  ACCESS_TOKEN_TTL_SECONDS: positiveInt(900),

  /** Where sign-in throttling counts live, shared by every replica. */
  REDIS_URL: backingUrl('REDIS_URL', ['redis:', 'rediss:', 'redis-sentinel:']),
  REDIS_PREFIX: z.string().default('twofa:'),
  SIGNIN_FAILURE_LIMIT: positiveInt(10),
  SIGNIN_WINDOW_SECONDS: positiveInt(900),
  SIGNIN_LOCK_SECONDS: positiveInt(900),
  /** Sign-in requests per client address per minute; 0 turns the limit off. */
  RATE_LIMIT_PER_MINUTE: z.coerce.number().int().min(0).default(120),
  /** fastify's trustProxy: which proxies may set X-Forwarded-For (e.g. loopback). */
  TRUST_PROXY: trustProxy
})

/** The settings this service reads; the README's configuration table lists each. */
export const authSettingNames = Object.keys(schema.shape)

export type AuthConfig = Readonly<z.infer<typeof schema>>

export function loadAuthConfig (env: Record<string, string | undefined>): AuthConfig {
  return loadConfig('auth', schema, env)
}
