import type { FastifyInstance } from 'fastify'
import { commonErrors } from './errors.js'

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
 * `fetchTransport`; inside the one-process start it is `injectTransport`,
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

export function fetchTransport (baseUrl: string, options: TransportOptions): Transport {
  const base = baseUrl.replace(/\/+$/, '')
  const timeoutMs = options.timeoutMs ?? 3000

  return async (request) => {
    let response: Response
    try {
      response = await fetch(base + request.path, {
        method: request.method,
        headers: headersFor(request, options.token),
        body: request.body === undefined ? undefined : JSON.stringify(request.body),
        signal: AbortSignal.timeout(timeoutMs)
      })
    } catch (error) {
      throw commonErrors.dependency_unavailable({ cause: error })
    }

    return { status: response.status, body: await readJson(response) }
  }
}

async function readJson (response: Response): Promise<unknown> {
  const text = await response.text()
  if (!text) return null

  try {
    return JSON.parse(text)
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
