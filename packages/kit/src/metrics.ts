import type { FastifyInstance, FastifyReply, FastifyRequest, FastifySchema } from 'fastify'
import { collectDefaultMetrics, Counter, Histogram, Registry } from 'prom-client'
import { countEvents } from './event-metrics.js'

/** The measurements every request feeds. */
export interface ProcessMetrics {
  registry: Registry
  requestDuration: Histogram<'method' | 'route' | 'status_code'>
  refusals: Counter<'route' | 'status' | 'error'>
}

let current: ProcessMetrics | null = null

function buildMetrics (): ProcessMetrics {
  const registry = new Registry()
  collectDefaultMetrics({ register: registry })
  countEvents(registry)

  return {
    registry,
    requestDuration: new Histogram({
      name: 'twofa_http_request_duration_seconds',
      help: 'Time from request to answer, by route pattern and status.',
      labelNames: ['method', 'route', 'status_code'] as const,
      registers: [registry]
    }),
    refusals: new Counter({
      name: 'twofa_http_refusals_total',
      help: 'Answers with a 4xx status, by route pattern and error code; ' +
        'once per client request: /internal/* routes are not counted.',
      labelNames: ['route', 'status', 'error'] as const,
      registers: [registry]
    })
  }
}

/**
 * The process's one registry, built on first use. Every app in the process
 * (the public and internal apps of a service, or the three services of the
 * one-process start) counts into it, so no metric is registered twice.
 */
export function processMetrics (): ProcessMetrics {
  current ??= buildMetrics()
  return current
}

/**
 * Internal routes answer the calls a public request makes (a wrong code is
 * refused by `/internal/challenges/verify` and then by `/api/sso/verify-2fa`);
 * the public route counts that refusal, so the internal one does not.
 */
const INTERNAL_ROUTES = '/internal/'

/**
 * Measures one answered request. The route is the pattern
 * (`/api/admin/users/:id`), never the path, so the number of series stays
 * bounded; requests that matched no route share `unmatched`. A refusal is
 * counted once per client request, under its public route.
 */
export function observeResponse (request: FastifyRequest, reply: FastifyReply): void {
  const metrics = processMetrics()
  const route = request.routeOptions.url ?? 'unmatched'
  const status = String(reply.statusCode)

  metrics.requestDuration.observe(
    { method: request.method, route, status_code: status },
    reply.elapsedTime / 1000
  )
  const refused = reply.statusCode >= 400 && reply.statusCode < 500
  if (refused && !route.startsWith(INTERNAL_ROUTES)) {
    metrics.refusals.inc({ route, status, error: request.errorCode ?? 'unknown' })
  }
}

/** `GET /metrics` in the Prometheus text format; left out of the API document. */
export async function metricsRoutes (app: FastifyInstance): Promise<void> {
  const { registry } = processMetrics()

  // `hide` is read by the OpenAPI generator, where there is one.
  const schema = { hide: true } as FastifySchema
  app.get('/metrics', { schema }, async (_request, reply) => {
    reply.type(registry.contentType)
    return await registry.metrics()
  })
}
