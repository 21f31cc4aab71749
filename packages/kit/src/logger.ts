import { pino, type Logger, type LoggerOptions, type DestinationStream } from 'pino'

/**
 * Field names that may hold a secret anywhere in a logged object. Handlers
 * never log these on purpose; this list is the second net behind that rule.
 */
export const SECRET_FIELDS = [
  'password',
  'totp_code',
  'recovery_code',
  'recovery_codes',
  'secret',
  'otpauth_url',
  'qr_svg',
  'token',
  'temp_token',
  'authorization',
  'cookie',
  'set-cookie'
]

function redactPaths (): string[] {
  const paths: string[] = []
  for (const field of SECRET_FIELDS) {
    paths.push(field, `*.${field}`, `*.*.${field}`)
  }
  return paths
}

export interface LoggerSettings {
  service: string
  level: string
  destination?: DestinationStream
}

/** Builds the pino logger a service passes to fastify and to its own code. */
export function createLogger (settings: LoggerSettings): Logger {
  const options: LoggerOptions = {
    level: settings.level,
    base: { service: settings.service },
    timestamp: pino.stdTimeFunctions.isoTime,
    redact: { paths: redactPaths(), censor: '[redacted]' },
    formatters: {
      level: (label) => ({ level: label })
    }
  }

  return settings.destination ? pino(options, settings.destination) : pino(options)
}

type LogMethod = (fields: Record<string, unknown>, message: string) => void

/**
 * The part of a logger domain code uses: a request's logger (which carries
 * the request id) and the service logger both fit.
 */
export interface DecisionLog {
  info: LogMethod
  warn: LogMethod
  error: LogMethod
}
