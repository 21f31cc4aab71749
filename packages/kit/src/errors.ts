/**
 * One error type for every service: a stable machine-readable code, the HTTP
 * status, and a message that is safe to show to the client. Internal detail
 * goes into `cause`, which the error handler logs and never sends.
 */
export class AppError extends Error {
  readonly code: string
  readonly statusCode: number
  readonly extra: Record<string, unknown> | undefined

  constructor (
    code: string,
    statusCode: number,
    message: string,
    options: { cause?: unknown, extra?: Record<string, unknown> } = {}
  ) {
    super(message, { cause: options.cause })
    this.name = 'AppError'
    this.code = code
    this.statusCode = statusCode
    this.extra = options.extra
  }
}

export interface ErrorSpec {
  readonly status: number
  readonly message: string
}

export type ErrorFactory = (
  options?: { cause?: unknown, extra?: Record<string, unknown>, message?: string }
) => AppError

/**
 * Declares a service's errors once. Each entry becomes a factory that builds
 * an AppError with the declared code, status and message, so a handler can
 * only raise errors that are listed (and documented) in one place.
 */
export function defineErrors<const T extends Record<string, ErrorSpec>> (
  specs: T
): { [K in keyof T]: ErrorFactory } & { specs: T } {
  const factories: Record<string, ErrorFactory> = {}

  for (const [code, spec] of Object.entries(specs)) {
    factories[code] = (options = {}) => new AppError(
      code,
      spec.status,
      options.message ?? spec.message,
      { cause: options.cause, extra: options.extra }
    )
  }

  return Object.assign(factories, { specs }) as { [K in keyof T]: ErrorFactory } & { specs: T }
}

/** Errors every service can raise, whatever its domain. */
export const commonErrors = defineErrors({
  invalid_request: { status: 400, message: 'The request is not valid.' },
  unauthorized: { status: 401, message: 'A valid access token is required.' },
  forbidden: { status: 403, message: 'You are not allowed to do this.' },
  second_factor_required: {
    status: 403,
    message: 'Admin actions need a sign-in with two-factor authentication: ' +
      'turn 2FA on, then sign in again.'
  },
  csrf_failed: {
    status: 403,
    message: 'The request lacks a valid CSRF token; reload the page and try again.'
  },
  not_found: { status: 404, message: 'Nothing is here.' },
  payload_too_large: { status: 413, message: 'The request body is too large.' },
  unsupported_media_type: { status: 415, message: 'Send the body as application/json.' },
  rate_limited: { status: 429, message: 'Too many requests; slow down.' },
  internal: { status: 500, message: 'Something went wrong on our side.' },
  dependency_unavailable: {
    status: 503,
    message: 'A service this request needs is unavailable; try again shortly.'
  }
})
