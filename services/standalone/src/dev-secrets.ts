import { generateKeyPairSync, randomBytes } from 'node:crypto'
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'

/** The secrets the services need, by environment variable name. */
export const SECRET_NAMES = [
  'INTERNAL_TOKEN',
  'SIGNING_KEY',
  'TOTP_ENCRYPTION_KEYS',
  'TOTP_ENCRYPTION_KEY_ID',
  'RECOVERY_CODE_PEPPER'
] as const

type Secrets = Record<(typeof SECRET_NAMES)[number], string>

function generate (): Secrets {
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' })
  return {
    INTERNAL_TOKEN: randomBytes(32).toString('base64url'),
    SIGNING_KEY: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    TOTP_ENCRYPTION_KEYS: `dev1:${randomBytes(32).toString('base64')}`,
    TOTP_ENCRYPTION_KEY_ID: 'dev1',
    RECOVERY_CODE_PEPPER: randomBytes(32).toString('base64url')
  }
}

export interface SecretSource {
  secrets: Partial<Secrets>
  /** The file the secrets came from or went to, when any were not in the environment. */
  file: string | null
  /** Secrets not in the environment under NODE_ENV=production, where none is generated. */
  missing: string[]
}

/**
 * Secrets for the one-process start. Those in the environment win. Outside
 * production the rest are generated once and kept in a file of the data
 * directory (mode 600), so data stored in a real MongoDB stays readable
 * across restarts. In production none is generated: the missing ones are
 * named, for the start to refuse together with its other problems.
 */
export function resolveSecrets (
  env: Record<string, string | undefined>,
  dataDir: string
): SecretSource {
  const missing = SECRET_NAMES.filter((name) => !env[name])
  if (missing.length === 0 || env.NODE_ENV === 'production') {
    const given = SECRET_NAMES.filter((name) => env[name]).map((name) => [name, env[name]])
    return { secrets: Object.fromEntries(given) as Partial<Secrets>, file: null, missing }
  }

  const file = join(dataDir, 'dev-secrets.json')
  let stored: Secrets
  try {
    stored = JSON.parse(readFileSync(file, 'utf8')) as Secrets
  } catch {
    stored = generate()
    mkdirSync(dataDir, { recursive: true, mode: 0o700 })
    writeFileSync(file, JSON.stringify(stored, null, 2), { mode: 0o600 })
  }

  const secrets = { ...stored }
  for (const name of SECRET_NAMES) {
    const given = env[name]
    if (given) secrets[name] = given
  }
  return { secrets, file, missing: [] }
}
