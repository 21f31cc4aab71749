import t, { type Test } from 'tap'
import type { FastifyInstance } from 'fastify'
import { LogCapture } from '@twofa/testing'
import { buildErrorHandler, createApp } from '../src/app.js'
import { trustProxyProblem } from '../src/config.js'
import { commonErrors } from '../src/errors.js'
import { createLogger } from '../src/logger.js'

interface Built {
  app: FastifyInstance
  logs: LogCapture
}

const codeBody = {
  type: 'object',
  required: ['code'],
  additionalProperties: false,
  properties: { code: { type: 'string', pattern: '^[0-9]{6}$' } }
} as const

/** An app with the routes these tests need; closed when the test ends. */
function build (t: Test, bodyLimit?: number): Built {
  const logs = new LogCapture()
  const app = createApp({
    logger: createLogger({ service: 'test', level: 'info', destination: logs }),
    bodyLimit
  })

  app.post('/codes', { schema: { body: codeBody } }, async (request) => request.body)
  app.get('/boom', async () => { throw new Error('database password rejected for admin') })
  app.get('/forbidden', async () => { throw commonErrors.forbidden() })
  app.get('/busy', async () => {
    throw commonErrors.dependency_unavailable({ extra: { retry_after: 7 } })
  })
  app.get('/ok', async () => ({ ok: true }))
  // What plugins such as a rate limiter or a load shedder throw: a plain error with a status.
  app.get('/limited', async () => {
    throw Object.assign(new Error('Rate limit exceeded'), { statusCode: 429 })
  })
  app.get('/shedding', async () => {
    throw Object.assign(new Error('Under pressure'), { statusCode: 503 })
  })
  app.get('/denied', async () => {
    throw Object.assign(new Error('Forbidden'), { statusCode: 403 })
  })
  app.get('/teapot', async () => {
    throw Object.assign(new Error('I am a teapot'), { statusCode: 418 })
  })

  t.teardown(async () => { await app.close() })
  return { app, logs }
}

/** The onResponse hook runs once the response is out; give it that turn. */
async function settled (): Promise<void> {
  await new Promise((resolve) => setImmediate(resolve))
}

t.test('a body that breaks the route schema ' +
  'gets 400 invalid_request saying which field', async (t) => {
  const { app } = build(t)

  const response = await app.inject({ method: 'POST', url: '/codes', payload: { code: '12345' } })

  t.equal(response.statusCode, 400)
  t.equal(response.json().error, 'invalid_request')
  t.match(response.json().message, /^body\.code /)
  t.notMatch(response.json().message, '[0-9]', 'the schema\'s regular expression is not shown')
})

t.test('a missing required field is named in the message', async (t) => {
  const { app } = build(t)

  const response = await app.inject({ method: 'POST', url: '/codes', payload: {} })

  t.equal(response.statusCode, 400)
  t.same(response.json(), { error: 'invalid_request', message: 'body.code is required.' })
})

t.test('a field the schema does not list is refused, not silently dropped', async (t) => {
  const { app } = build(t)

  const response = await app.inject({
    method: 'POST',
    url: '/codes',
    payload: { code: '123456', admin: true }
  })

  t.equal(response.statusCode, 400)
  t.same(response.json(), { error: 'invalid_request', message: 'body.admin is not allowed.' })
})

t.test('K16 a JSON number where the schema wants a string is refused, not coerced', async (t) => {
  const { app } = build(t)

  for (const code of [81804, ['081804'], null, true]) {
    const response = await app.inject({ method: 'POST', url: '/codes', payload: { code } })
    t.equal(response.statusCode, 400, JSON.stringify(code))
  }
})

t.test('a string of six digits with a leading zero reaches the handler unchanged', async (t) => {
  const { app } = build(t)

  const response = await app.inject({ method: 'POST', url: '/codes', payload: { code: '005924' } })

  t.equal(response.statusCode, 200)
  t.same(response.json(), { code: '005924' })
})

t.test('an unknown route gets 404 not_found', async (t) => {
  const { app } = build(t)

  const response = await app.inject({ method: 'GET', url: '/nowhere' })

  t.equal(response.statusCode, 404)
  t.same(response.json(), { error: 'not_found', message: 'Nothing is here.' })
})

t.test('K18 invalid JSON gets 400 invalid_request', async (t) => {
  const { app } = build(t)

  for (const payload of ['{"code": 012345}', '{"code":"123456"', 'not json']) {
    const response = await app.inject({
      method: 'POST',
      url: '/codes',
      headers: { 'content-type': 'application/json' },
      payload
    })
    t.equal(response.statusCode, 400, payload)
    t.equal(response.json().error, 'invalid_request', payload)
    t.notMatch(response.body, /stack|at .*\.js/, 'no stack trace')
  }
})

t.test('K18 an empty body sent as JSON gets 400 invalid_request', async (t) => {
  const { app } = build(t)

  const response = await app.inject({
    method: 'POST',
    url: '/codes',
    headers: { 'content-type': 'application/json' },
    payload: ''
  })

  t.equal(response.statusCode, 400)
  t.equal(response.json().error, 'invalid_request')
})

t.test('K18 a body over the limit gets 413 payload_too_large', async (t) => {
  const { app } = build(t, 1024)

  const response = await app.inject({
    method: 'POST',
    url: '/codes',
    headers: { 'content-type': 'application/json' },
    payload: JSON.stringify({ code: '1'.repeat(2000) })
  })

  t.equal(response.statusCode, 413)
  t.same(response.json(), { error: 'payload_too_large', message: 'The request body is too large.' })
})

t.test('K18 a body in a media type the app does not parse gets 415', async (t) => {
  const { app } = build(t)

  const response = await app.inject({
    method: 'POST',
    url: '/codes',
    headers: { 'content-type': 'text/plain' },
    payload: 'code=123456'
  })

  t.equal(response.statusCode, 415)
  t.same(response.json(), {
    error: 'unsupported_media_type',
    message: 'Send the body as application/json.'
  })
})

t.test('K18 a body with no content type gets 415', async (t) => {
  const { app } = build(t)

  const response = await app.inject({
    method: 'POST',
    url: '/codes',
    payload: Buffer.from('{"code":"123456"}')
  })

  t.equal(response.statusCode, 415)
  t.equal(response.json().error, 'unsupported_media_type')
})

t.test('K19 a body carrying __proto__ is refused with 400', async (t) => {
  const { app } = build(t)

  const response = await app.inject({
    method: 'POST',
    url: '/codes',
    headers: { 'content-type': 'application/json' },
    payload: '{"__proto__":{"isAdmin":true},"code":"123456"}'
  })

  t.equal(response.statusCode, 400)
  t.equal(response.json().error, 'invalid_request')
  t.equal(({} as Record<string, unknown>).isAdmin, undefined, 'no object gained the property')
})

t.test('K19 a body carrying constructor.prototype is refused with 400', async (t) => {
  const { app } = build(t)

  const response = await app.inject({
    method: 'POST',
    url: '/codes',
    headers: { 'content-type': 'application/json' },
    payload: '{"constructor":{"prototype":{"role":"admin"}},"code":"123456"}'
  })

  t.equal(response.statusCode, 400)
  t.equal(response.json().error, 'invalid_request')
})

t.test('an unexpected throw gets 500 with a generic message; ' +
  'the cause is only in the log', async (t) => {
  const { app, logs } = build(t)

  const response = await app.inject({ method: 'GET', url: '/boom' })
  await settled()

  t.equal(response.statusCode, 500)
  t.same(response.json(), { error: 'internal', message: 'Something went wrong on our side.' })
  t.notMatch(response.body, /password/)
  const failure = logs.entries().find((entry) => entry.msg === 'request failed')
  t.equal(failure?.level, 'error')
  t.match((failure?.err as { message?: string })?.message, /database password rejected/)
})

t.test('an AppError from a handler is answered with its own code, ' +
  'status and message', async (t) => {
  const { app } = build(t)

  const response = await app.inject({ method: 'GET', url: '/forbidden' })

  t.equal(response.statusCode, 403)
  t.same(response.json(), { error: 'forbidden', message: 'You are not allowed to do this.' })
})

t.test('an error from a plugin keeps its status: ' +
  '429 is rate_limited, 503 is dependency_unavailable', async (t) => {
  const { app } = build(t)

  const limited = await app.inject({ method: 'GET', url: '/limited' })
  const shedding = await app.inject({ method: 'GET', url: '/shedding' })

  t.equal(limited.statusCode, 429)
  t.same(limited.json(), { error: 'rate_limited', message: 'Too many requests; slow down.' })
  t.equal(shedding.statusCode, 503)
  t.equal(shedding.json().error, 'dependency_unavailable')
})

t.test('an error from a plugin with 403 is answered with the general forbidden code', async (t) => {
  const { app } = build(t)

  const response = await app.inject({ method: 'GET', url: '/denied' })

  t.equal(response.statusCode, 403)
  t.same(response.json(), { error: 'forbidden', message: 'You are not allowed to do this.' })
})

t.test('an error from a plugin with a client status we do not declare is a 400', async (t) => {
  const { app } = build(t)

  const response = await app.inject({ method: 'GET', url: '/teapot' })

  t.equal(response.statusCode, 400)
  t.same(response.json(), { error: 'invalid_request', message: 'The request is not valid.' })
})

t.test('a 503 that says when to come back sets Retry-After ' +
  'and keeps the hint in the body', async (t) => {
  const { app } = build(t)

  const response = await app.inject({ method: 'GET', url: '/busy' })

  t.equal(response.statusCode, 503)
  t.equal(response.headers['retry-after'], '7')
  t.equal(response.json().error, 'dependency_unavailable')
  t.equal(response.json().retry_after, 7)
})

t.test('a well-formed x-request-id is taken and echoed', async (t) => {
  const { app, logs } = build(t)

  const response = await app.inject({
    method: 'GET',
    url: '/ok',
    headers: { 'x-request-id': 'gw-1234.abc:9' }
  })
  await settled()

  t.equal(response.headers['x-request-id'], 'gw-1234.abc:9')
  const line = logs.entries().find((entry) => entry.msg === 'request')
  t.equal(line?.request_id, 'gw-1234.abc:9')
})

t.test('a malformed x-request-id is replaced by a fresh one', async (t) => {
  const { app } = build(t)

  for (const given of ['has space', 'x'.repeat(65), 'new\\line', '']) {
    const response = await app.inject({
      method: 'GET',
      url: '/ok',
      headers: { 'x-request-id': given }
    })
    const echoed = response.headers['x-request-id']
    t.not(echoed, given, JSON.stringify(given))
    t.match(echoed, /^[0-9a-f-]{36}$/, 'a UUID')
  }
})

t.test('error answers carry a request id too', async (t) => {
  const { app } = build(t)

  const notFound = await app.inject({
    method: 'GET',
    url: '/nowhere',
    headers: { 'x-request-id': 'r-404' }
  })
  const badJson = await app.inject({
    method: 'POST',
    url: '/codes',
    headers: { 'content-type': 'application/json', 'x-request-id': 'r-400' },
    payload: '{'
  })

  t.equal(notFound.headers['x-request-id'], 'r-404')
  t.equal(badJson.headers['x-request-id'], 'r-400')
})

t.test('each request is logged once, with route and status and without headers', async (t) => {
  const { app, logs } = build(t)

  await app.inject({
    method: 'POST',
    url: '/codes',
    headers: { authorization: 'Bearer secret-token-value', cookie: 'sid=secret-cookie' },
    payload: { code: '123456' }
  })
  await settled()

  const lines = logs.entries().filter((entry) => entry.msg === 'request')
  t.equal(lines.length, 1)
  t.match(lines[0], {
    level: 'info',
    method: 'POST',
    route: '/codes',
    status: 200,
    service: 'test'
  })
  t.notMatch(logs.text(), /secret-token-value|secret-cookie|123456/)
})

t.test('a refused request is logged at info and a failed one at error', async (t) => {
  const { app, logs } = build(t)

  await app.inject({ method: 'GET', url: '/forbidden' })
  await app.inject({ method: 'GET', url: '/boom' })
  await settled()

  const lines = logs.entries().filter((entry) => entry.msg === 'request')
  t.same(lines.map((line) => [line.status, line.level]), [[403, 'info'], [500, 'error']])
})

t.test('an error handler built with extra fields adds them to every error body', async (t) => {
  const { app } = build(t)
  await app.register(async (scoped) => {
    scoped.setErrorHandler(buildErrorHandler({ extraFields: { success: false } }))
    scoped.get('/scoped', async () => { throw commonErrors.forbidden() })
  })

  const response = await app.inject({ method: 'GET', url: '/scoped' })

  t.equal(response.statusCode, 403)
  t.same(response.json(), {
    success: false,
    error: 'forbidden',
    message: 'You are not allowed to do this.'
  })
})

t.test('a TRUST_PROXY value is checked entry by entry, without repeating it', async (t) => {
  for (const good of ['', 'true', 'false', 'loopback', '10.0.0.1', '10.0.0.0/8',
    '10.0.0.0/255.0.0.0', 'fe80::/10', 'loopback, 192.168.0.0/16, uniquelocal']) {
    t.equal(trustProxyProblem(good), null, `"${good}" is accepted`)
  }
  t.match(trustProxyProblem('not an ip'), /\(entry 1 of 1 is not\)$/)
  t.match(trustProxyProblem('loopback,10.0.0.0/33,1'), /\(entry 2, 3 of 3 is not\)$/)
  t.notMatch(trustProxyProblem('secret-looking-value') ?? '', 'secret-looking-value')
})
