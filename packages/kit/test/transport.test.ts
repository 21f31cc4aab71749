import type { AddressInfo, Socket } from 'node:net'
import t, { type Test } from 'tap'
import type { FastifyInstance } from 'fastify'
import { createApp } from '../src/app.js'
import { AppError } from '../src/errors.js'
import { requireServiceToken } from '../src/internal-auth.js'
import { createLogger } from '../src/logger.js'
import { expectStatus, httpTransport, injectTransport, type Transport } from '../src/transport.js'

const CREDENTIAL = 'internal-credential-of-at-least-32-chars'

/** The other service's internal API, on a loopback port. */
interface InternalApp { app: FastifyInstance, base: string, sockets: Set<Socket> }

async function internalApp (t: Test): Promise<InternalApp> {
  const app = createApp({ logger: createLogger({ service: 'other', level: 'silent' }) })
  requireServiceToken(app, CREDENTIAL)

  let release = (): void => {}
  const stalled = new Promise<void>((resolve) => { release = resolve })

  app.post('/internal/echo', async (request) => ({ body: request.body, request_id: request.id }))
  app.get('/internal/users/missing', async (_request, reply) =>
    await reply.code(404).send({ error: 'not_found' }))
  app.delete('/internal/users/1', async (_request, reply) => await reply.code(204).send())
  app.get('/internal/text', async (_request, reply) =>
    await reply.type('text/html').send('<html>proxy error</html>'))
  app.get('/internal/huge', async (_request, reply) =>
    await reply.type('application/json').send('"' + 'x'.repeat(2 * 1024 * 1024) + '"'))
  app.get('/internal/slow', async () => { await stalled; return {} })

  t.teardown(async () => {
    release()
    await app.close()
  })
  const sockets = new Set<Socket>()
  app.server.on('connection', (socket: Socket) => {
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
  })
  const base = await app.listen({ host: '127.0.0.1', port: 0 })
  return { app, base, sockets }
}

async function closedPort (): Promise<number> {
  const app = createApp({ logger: createLogger({ service: 'gone', level: 'silent' }) })
  await app.listen({ host: '127.0.0.1', port: 0 })
  const { port } = app.server.address() as AddressInfo
  await app.close()
  return port
}

async function unavailable (t: Test, call: Promise<unknown>): Promise<void> {
  const error = await call.then(() => null, (error: unknown) => error)
  t.type(error, AppError)
  t.match(error, { code: 'dependency_unavailable', statusCode: 503 })
}

t.test('httpTransport sends the credential, ' +
  'the body and the request id, and reads the answer', async (t) => {
  const { base } = await internalApp(t)
  const call = httpTransport(base + '/', { token: CREDENTIAL })

  const response = await call({
    method: 'POST',
    path: '/internal/echo',
    body: { user_id: 'u1' },
    requestId: 'req-42'
  })

  t.equal(response.status, 200)
  t.same(response.body, { body: { user_id: 'u1' }, request_id: 'req-42' })
})

t.test('httpTransport hands a client error back to the caller as it came', async (t) => {
  const { base } = await internalApp(t)

  const call = httpTransport(base, { token: CREDENTIAL })
  const response = await call({ method: 'GET', path: '/internal/users/missing' })

  t.same(response, { status: 404, body: { error: 'not_found' } })
})

t.test('httpTransport reads an empty answer as a null body', async (t) => {
  const { base } = await internalApp(t)

  const call = httpTransport(base, { token: CREDENTIAL })
  const response = await call({ method: 'DELETE', path: '/internal/users/1' })

  t.same(response, { status: 204, body: null })
})

t.test('httpTransport with a wrong credential gets the 401, not an error', async (t) => {
  const { base } = await internalApp(t)

  const call = httpTransport(base, { token: 'wrong' })
  const response = await call({ method: 'POST', path: '/internal/echo', body: {} })

  t.equal(response.status, 401)
})

t.test('httpTransport turns an unreachable service into 503', async (t) => {
  const port = await closedPort()

  const call = httpTransport(`http://127.0.0.1:${port}`, { token: CREDENTIAL })
  await unavailable(t, call({ method: 'GET', path: '/x' }))
})

t.test('httpTransport turns a service that does not answer in time into 503', async (t) => {
  const { base } = await internalApp(t)

  const call = httpTransport(base, { token: CREDENTIAL, timeoutMs: 200 })
  await unavailable(t, call({ method: 'GET', path: '/internal/slow' }))
})

t.test('httpTransport turns an answer that is not JSON into 503', async (t) => {
  const { base } = await internalApp(t)

  const call = httpTransport(base, { token: CREDENTIAL })
  await unavailable(t, call({ method: 'GET', path: '/internal/text' }))
})

t.test('httpTransport keeps one connection open across calls', async (t) => {
  const { app, base } = await internalApp(t)
  let connections = 0
  app.server.on('connection', () => { connections++ })

  const call = httpTransport(base, { token: CREDENTIAL })
  for (let i = 0; i < 5; i++) {
    const response = await call({ method: 'POST', path: '/internal/echo', body: { i } })
    t.match(response, { status: 200, body: { body: { i } } })
  }

  t.equal(connections, 1, 'five calls, one connection')
})

t.test('httpTransport retries once when the other side closed an idle connection',
  async (t) => {
    const { base, sockets } = await internalApp(t)
    const call = httpTransport(base, { token: CREDENTIAL })
    await call({ method: 'POST', path: '/internal/echo', body: { n: 1 } })

    // The pooled socket is now idle; the server drops it without a word.
    let dropped = 0
    for (const socket of sockets) { socket.destroy(); dropped++ }
    const response = await call({ method: 'POST', path: '/internal/echo', body: { n: 2 } })

    t.ok(dropped >= 1, 'an idle connection was dropped')
    t.equal(response.status, 200)
    t.match(response.body, { body: { n: 2 } })
  })

t.test('httpTransport turns an answer over 1 MiB into 503', async (t) => {
  const { base } = await internalApp(t)

  const call = httpTransport(base, { token: CREDENTIAL })
  await unavailable(t, call({ method: 'GET', path: '/internal/huge' }))
})

t.test('httpTransport keeps a path prefix of its base address', async (t) => {
  const { base } = await internalApp(t)

  const call = httpTransport(base + '/internal/', { token: CREDENTIAL })
  const response = await call({ method: 'DELETE', path: '/users/1' })

  t.same(response, { status: 204, body: null })
})

t.test('injectTransport runs the same routes and credential check without a socket', async (t) => {
  const { app } = await internalApp(t)
  const call: Transport = injectTransport(app, { token: CREDENTIAL })

  const echoed = await call({
    method: 'POST',
    path: '/internal/echo',
    body: { n: 1 },
    requestId: 'req-7'
  })
  const withWrongToken = injectTransport(app, { token: 'wrong' })
  const refused = await withWrongToken({ method: 'POST', path: '/internal/echo', body: {} })

  t.same(echoed, { status: 200, body: { body: { n: 1 }, request_id: 'req-7' } })
  t.equal(refused.status, 401)
})

t.test('expectStatus accepts the listed statuses and turns any other into 503', async (t) => {
  t.doesNotThrow(() => expectStatus({ status: 404, body: null }, 200, 404))

  for (const status of [500, 502, 409]) {
    const error = t.throws(() => expectStatus({ status, body: null }, 200)) as AppError
    t.match(error, { code: 'dependency_unavailable', statusCode: 503 }, String(status))
  }
})
