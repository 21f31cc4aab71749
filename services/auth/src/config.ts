import { z } from 'zod'
import { loadConfig, logLevel, nodeEnv, port, positiveInt } from '@twofa/kit'

const schema = z.object({
  NODE_ENV: nodeEnv,
  LOG_LEVEL: logLevel,
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
  ACCESS_TOKEN_TTL_SECONDS: positiveInt(900)
})

export type AuthConfig = Readonly<z.infer<typeof schema>>

export function loadAuthConfig (env: Record<string, string | undefined>): AuthConfig {
  return loadConfig('auth', schema, env)
}
