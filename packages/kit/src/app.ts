import { randomUUID } from 'node:crypto'
import type { Duplex } from 'node:stream'
import Fastify, {
  LogController,
  type FastifyError,
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest
} from 'fastify'
import type { Logger } from 'pino'
import { isDependencyFailure } from './dependency-errors.js'
import { AppError, commonErrors } from './errors.js'
import { observeResponse } from './metrics.js'

declare module 'fastify' {
  interface FastifyRequest {
    /** The authenticated user's id, once known; every log line carries it. */
    userId: string | null
    /** The `error` code of the answer, when it is an error; metrics count refusals by it. */
    errorCode: string | null
    /**
     * Set by a route whose 5xx answer is deliberate (readiness while shutting
     * down): its request line is then not logged as an error.
     */
    expectedFailure: boolean
  }
}

export interface AppOptions {
  logger: Logger
  /**
   * Level of the line each answered request writes (errors are always at
   * error). An internal API says `debug`: the public request that caused
   * the call, and the decisions taken, are already logged at info.
   */
  requestLogLevel?: 'info' | 'debug'
  /** Largest accepted request body in bytes. */
  bodyLimit?: number
  /** Trust X-Forwarded-* from a gateway in front (fastify's trustProxy). */
  trustProxy?: boolean | string
}

/**
 * fastify's trustProxy from a setting: unset trusts no proxy, "true" any,
 * anything else names proxies (addresses, CIDR ranges, "loopback").
 */
export function trustProxyFrom (setting: string | undefined): boolean | string {
  if (setting === undefined || setting === '' || setting === 'false') return false
  return setting === 'true' ? true : setting
}

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,64}$/

/**
 * Takes the gateway's request id when it is well formed, so one login can be
 * followed across services; anything else gets a fresh id.
 */
function requestIdFrom (request: { headers: Record<string, unknown> }): string {
  const given = request.headers['x-request-id']
  return typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID()
}

/**
 * Builds a fastify instance with the behaviour every service shares: request
 * ids, one log line per request, and `{error, message}` bodies for every
 * failure. It does not listen; `server.ts` of each service does that.
 */
export function createApp (options: AppOptions): FastifyInstance {
  const app = Fastify({
    loggerInstance: options.logger,
    // Our own onResponse hook writes the one line per request.
    logController: new LogController({
      disableRequestLogging: true,
      requestIdLogLabel: 'request_id'
    }),
    genReqId: requestIdFrom,
    bodyLimit: options.bodyLimit ?? 16 * 1024,
    trustProxy: options.trustProxy ?? false,
    return503OnClosing: true,
    ajv: { customOptions: { removeAdditional: false, coerceTypes: false, allErrors: false } },
    frameworkErrors: (error, _request, reply) => {
      const message = 'The request URL or headers are not valid.'
      const answer = reply as unknown as FastifyReply
      answer.request.errorCode = 'invalid_request'
      answer.code(error.statusCode ?? 400).send({ error: 'invalid_request', message })
    },
    clientErrorHandler: answerClientError
  }) as unknown as FastifyInstance

  // Bodies are JSON only. fastify also parses text/plain by default, which a
  // cross-site form can send without a CORS preflight.
  app.removeContentTypeParser('text/plain')
  app.decorateRequest('userId', null)
  app.decorateRequest('errorCode', null)
  app.decorateRequest('expectedFailure', false)

  app.addHook('onRequest', async (request, reply) => {
    reply.header('x-request-id', request.id)
    // Answers carry tokens, secrets and recovery codes: no cache keeps them.
    // A route that may be cached (the JWKS) says so itself.
    reply.header('cache-control', 'no-store')
  })

  app.addHook('onResponse', async (request, reply) => {
    logRequest(request, reply, options.requestLogLevel ?? 'info')
    observeResponse(request, reply)
  })

  app.setErrorHandler(buildErrorHandler())
  app.setNotFoundHandler(async (request, reply) => {
    request.errorCode = 'not_found'
    await reply.code(404).send({ error: 'not_found', message: 'Nothing is here.' })
  })

  return app
}

/**
 * Requests node's HTTP parser refuses before fastify sees them (headers too
 * large, malformed request lines) still get a JSON `{error, message}`.
 */
function answerClientError (error: Error & { code?: string }, socket: Duplex): void {
  if (!socket.writable) return
  const tooLarge = error.code === 'HPE_HEADER_OVERFLOW'
  const status = tooLarge ? '431 Request Header Fields Too Large' : '400 Bad Request'
  const body = JSON.stringify(tooLarge
    ? { error: 'headers_too_large', message: 'The request headers are too large.' }
    : { error: 'invalid_request', message: 'The request could not be read.' })
  socket.end(`HTTP/1.1 ${status}\r\nconnection: close\r\ncontent-type: application/json\r\n` +
    `content-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`)
}

function logRequest (request: FastifyRequest, reply: FastifyReply, level: 'info' | 'debug'): void {
  const status = reply.statusCode
  const line = {
    method: request.method,
    route: request.routeOptions.url ?? 'unmatched',
    status,
    ms: Math.round(reply.elapsedTime),
    user_id: request.userId ?? undefined
  }

  if (status >= 500 && !request.expectedFailure) request.log.error(line, 'request')
  else request.log[level](line, 'request')
}

/**
 * The common error declared for an HTTP status. Errors that fastify and its
 * plugins raise carry only a status: a body too large stays a 413, a rate
 * limit a 429, an overloaded process a 503.
 */
const CODE_BY_STATUS = new Map<number, string>()
for (const [code, spec] of Object.entries(commonErrors.specs)) {
  // The first code declared for a status is the general one (forbidden, not a special case).
  if (!CODE_BY_STATUS.has(spec.status)) CODE_BY_STATUS.set(spec.status, code)
}

export interface ErrorBodyOptions {
  /** Fields added to every error body of the routes this handler covers. */
  extraFields?: Record<string, unknown>
}

/**
 * Turns any error into `{error, message}`. Client mistakes are answered with
 * their code and logged at info; anything unexpected is a 500 whose cause is
 * logged and whose detail never reaches the client.
 */
export function buildErrorHandler (options: ErrorBodyOptions = {}) {
  return async function handleError (
    this: FastifyInstance,
    error: FastifyError | AppError | Error,
    request: FastifyRequest,
    reply: FastifyReply
  ) {
    const appError = toAppError(error)
    request.errorCode = appError.code

    if (appError.statusCode >= 500) {
      request.log.error({ err: appError.cause ?? error, code: appError.code }, 'request failed')
    } else {
      request.log.info({ code: appError.code }, 'request refused')
    }

    if (appError.statusCode === 429 || appError.statusCode === 503) {
      const retryAfter = appError.extra?.retry_after
      if (typeof retryAfter === 'number') reply.header('retry-after', String(retryAfter))
    }

    await reply.code(appError.statusCode).send({
      ...options.extraFields,
      error: appError.code,
      message: appError.message,
      ...appError.extra
    })
  }
}

function toAppError (error: FastifyError | AppError | Error): AppError {
  if (error instanceof AppError) return error

  const fastifyError = error as FastifyError
  if (fastifyError.validation) {
    return commonErrors.invalid_request({ message: validationMessage(fastifyError) })
  }
  if (isDependencyFailure(error)) {
    return commonErrors.dependency_unavailable({ cause: error, extra: { retry_after: 1 } })
  }

  const status = fastifyError.statusCode ?? 500
  const code = CODE_BY_STATUS.get(status) ??
    (status >= 400 && status < 500 ? 'invalid_request' : 'internal')
  const spec = commonErrors.specs[code as keyof typeof commonErrors.specs]
  return new AppError(code, spec.status, spec.message, { cause: error })
}

/** Says what was wrong with the input without echoing the input itself. */
function validationMessage (error: FastifyError): string {
  const first = error.validation?.[0]
  if (!first) return 'The request is not valid.'

  const where = error.validationContext ?? 'body'
  const path = first.instancePath ? first.instancePath.slice(1).replaceAll('/', '.') : ''
  const missing = (first.params as { missingProperty?: string }).missingProperty
  const extra = (first.params as { additionalProperty?: string }).additionalProperty

  if (missing) return `${where}.${missing} is required.`
  if (extra) return `${where}.${extra} is not allowed.`
  const field = `${where}${path ? '.' + path : ''}`
  // The schema's own words for a pattern are a regular expression, which
  // tells a client nothing; the README and /docs say what each field takes.
  if (first.keyword === 'pattern') {
    return `${field} holds characters or a form it does not accept; see /docs.`
  }
  return `${field} ${first.message ?? 'is not valid'}.`
}
