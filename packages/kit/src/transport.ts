import type { FastifyInstance } from 'fastify'
import http from 'node:http'
import https from 'node:https'
import { AppError, commonErrors } from './errors.js'

export interface ServiceRequest {
  method: 'GET' | 'POST' | 'DELETE'
  path: string
  body?: unknown
  requestId?: string
}

export interface ServiceResponse {
  status: number
  body: unknown
}

/**
 * How one service calls another's internal API. Over the network it is
 * `httpTransport`; inside the one-process start it is `injectTransport`,
 * which runs the same routes, schemas and credential check without a socket.
 */
export type Transport = (request: ServiceRequest) => Promise<ServiceResponse>

export interface TransportOptions {
  /** The service credential sent as a bearer token. */
  token: string
  timeoutMs?: number
}

function headersFor (request: ServiceRequest, token: string): Record<string, string> {
  const headers: Record<string, string> = { authorization: `Bearer ${token}` }
  if (request.body !== undefined) headers['content-type'] = 'application/json'
  if (request.requestId) headers['x-request-id'] = request.requestId
  return headers
}

/** Internal answers are small; anything larger is a fault on the other side. */
const MAX_ANSWER_BYTES = 1024 * 1024

const RETRYABLE_ON_REUSED_SOCKET = new Set(['ECONNRESET', 'EPIPE'])

/**
 * Calls another service over HTTP through a keep-alive pool. It uses
 * node:http rather than fetch: on this path, a hop on every login, fetch
 * spends several times the CPU per call (measured in the bench).
 */
export function httpTransport (baseUrl: string, options: TransportOptions): Transport {
  const base = new URL(baseUrl.replace(/\/+$/, '') + '/')
  const timeoutMs = options.timeoutMs ?? 3000
  const secure = base.protocol === 'https:'
  const agentOptions = { keepAlive: true, maxSockets: 256, maxFreeSockets: 64, timeout: 30_000 }
  const agent = secure ? new https.Agent(agentOptions) : new http.Agent(agentOptions)
  const send = secure ? https.request : http.request
  const prefix = base.pathname.replace(/\/$/, '')

  const once = async (request: ServiceRequest): Promise<ServiceResponse> =>
    await new Promise((resolve, reject) => {
      const payload = request.body === undefined ? undefined : JSON.stringify(request.body)
      const headers: Record<string, string | number> = headersFor(request, options.token)
      if (payload !== undefined) headers['content-length'] = Buffer.byteLength(payload)

      const outgoing = send({
        protocol: base.protocol,
        hostname: base.hostname,
        port: base.port,
        path: prefix + request.path,
        method: request.method,
        headers,
        agent
      }, (incoming) => {
        const chunks: Buffer[] = []
        let size = 0
        incoming.on('data', (chunk: Buffer) => {
          size += chunk.length
          if (size > MAX_ANSWER_BYTES) {
            outgoing.destroy(new Error('internal answer over 1 MiB'))
            return
          }
          chunks.push(chunk)
        })
        incoming.on('end', () => {
          try {
            resolve({ status: incoming.statusCode ?? 0, body: parseJson(Buffer.concat(chunks)) })
          } catch (error) {
            reject(error)
          }
        })
        incoming.on('error', reject)
      })
      const timer = setTimeout(() => {
        outgoing.destroy(new Error(`no answer within ${timeoutMs} ms`))
      }, timeoutMs)
      outgoing.on('close', () => { clearTimeout(timer) })
      outgoing.on('error', (error: NodeJS.ErrnoException) => {
        reject(Object.assign(error, { reusedSocket: outgoing.reusedSocket }))
      })
      outgoing.end(payload)
    })

  return async (request) => {
    try {
      return await once(request)
    } catch (error) {
      if (error instanceof AppError) throw error
      // A pooled connection the other side closed while idle fails before
      // the request reaches it; Node's documentation advises one retry.
      const failure = error as NodeJS.ErrnoException & { reusedSocket?: boolean }
      if (failure.reusedSocket === true && RETRYABLE_ON_REUSED_SOCKET.has(failure.code ?? '')) {
        try {
          return await once(request)
        } catch (second) {
          if (second instanceof AppError) throw second
          throw commonErrors.dependency_unavailable({ cause: second })
        }
      }
      throw commonErrors.dependency_unavailable({ cause: error })
    }
  }
}

function parseJson (raw: Buffer): unknown {
  if (raw.length === 0) return null

  try {
    return JSON.parse(raw.toString('utf8'))
  } catch (error) {
    throw commonErrors.dependency_unavailable({ cause: error })
  }
}

export function injectTransport (app: FastifyInstance, options: TransportOptions): Transport {
  return async (request) => {
    const response = await app.inject({
      method: request.method,
      url: request.path,
      headers: headersFor(request, options.token),
      payload: request.body === undefined ? undefined : JSON.stringify(request.body)
    })

    return { status: response.statusCode, body: response.body ? response.json() : null }
  }
}

/**
 * Rejects an answer the caller did not expect: a 5xx from the other side
 * becomes our 503, so a failing dependency never looks like the client's fault.
 */
export function expectStatus (response: ServiceResponse, ...accepted: number[]): void {
  if (accepted.includes(response.status)) return
  throw commonErrors.dependency_unavailable({
    cause: new Error(`unexpected status ${response.status} from internal call`)
  })
}
