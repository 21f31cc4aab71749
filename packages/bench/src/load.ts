import autocannon from 'autocannon'

/** What one autocannon run measured. */
export interface LoadFigure {
  /** Answers with a 2xx status per second. */
  rps: number
  /** Latency in milliseconds, over every answer. */
  p50: number
  p99: number
  /** Answers with a 2xx status. */
  ok: number
  /** Answers with another status, connection errors and timeouts. */
  failed: number
  seconds: number
  connections: number
  /** The overall rate asked for, when the run was paced. */
  rate?: number
}

export interface LoadRun {
  url: string
  connections: number
  /** Seconds to run; ignored when `amount` is given. */
  seconds?: number
  /** Requests to make, then stop. */
  amount?: number
  /** Requests per second over all connections. */
  overallRate?: number
  request: autocannon.Request
}

/**
 * Wraps a request so the run's own clock starts at the first request built
 * and stops at the last answer: autocannon notices the end of a run only
 * at its next one-second sample, which would halve the rate of a short run.
 */
function timed (request: autocannon.Request) {
  const clock = { first: 0, last: 0, ok: 0 }
  const setup = typeof request.setupRequest === 'function' ? request.setupRequest : null
  const answer = typeof request.onResponse === 'function' ? request.onResponse : null
  const wrapped: autocannon.Request = {
    ...request,
    setupRequest: (built, context) => {
      if (clock.first === 0) clock.first = performance.now()
      return setup ? setup(built, context) : built
    },
    onResponse: (status, body, context, headers) => {
      clock.last = performance.now()
      if (status >= 200 && status < 300) clock.ok++
      answer?.(status, body, context, headers)
    }
  }
  return { wrapped, clock }
}

/**
 * Drives one route with autocannon on loopback: HTTP/1.1 keep-alive, one
 * request in flight per connection. `setupRequest` builds each request, so
 * every one can carry its own temp token and code.
 */
export async function drive (run: LoadRun): Promise<LoadFigure> {
  const connections = run.amount === undefined
    ? run.connections
    : Math.max(1, Math.min(run.connections, run.amount))
  const { wrapped, clock } = timed(run.request)
  const result = await autocannon({
    url: run.url,
    connections,
    pipelining: 1,
    timeout: 30,
    ...(run.amount === undefined ? { duration: run.seconds ?? 5 } : { amount: run.amount }),
    ...(run.overallRate === undefined ? {} : { overallRate: Math.max(1, run.overallRate) }),
    requests: [wrapped]
  })

  const seconds = (clock.last - clock.first) / 1000
  return {
    rps: seconds > 0 ? clock.ok / seconds : 0,
    p50: result.latency.p50,
    p99: result.latency.p99,
    ok: clock.ok,
    failed: result.non2xx + result.errors + result.timeouts,
    seconds,
    connections,
    ...(run.overallRate === undefined ? {} : { rate: Math.round(run.overallRate) })
  }
}

/** A JSON POST whose body is built anew for every request. */
export function jsonPost (
  path: string,
  body: (context: Record<string, unknown>) => unknown,
  onAnswer?: (status: number, body: string, context: Record<string, unknown>) => void
): autocannon.Request {
  return {
    method: 'POST',
    path,
    headers: { 'content-type': 'application/json' },
    setupRequest: (request, context) => ({
      ...request,
      body: JSON.stringify(body(context as Record<string, unknown>))
    }),
    ...(onAnswer
      ? {
          onResponse: (status, text, context) =>
            onAnswer(status, text, context as Record<string, unknown>)
        }
      : {})
  }
}

/** A GET that carries the given bearer tokens in turn. */
export function bearerGet (path: string, tokens: string[]): autocannon.Request {
  let next = 0
  return {
    method: 'GET',
    path,
    setupRequest: (request) => ({
      ...request,
      headers: { authorization: `Bearer ${tokens[next++ % tokens.length] as string}` }
    })
  }
}
