import t, { type Test } from 'tap'
import { clusterBackings, startCluster, type Cluster } from '@twofa/testing'
import { chromiumMissing, openBrowser, webRoot } from './browser.js'
import { nginxMissing, startGateway, type Gateway, type Upstreams } from './gateway.js'
import { checkSecurityHeaders } from './headers.js'
import { walkThePages } from './walk.js'

const USER = { name: 'Bea Example', email: 'bea@example.com', password: 'correct horse battery' }
const ADMIN = { name: 'Admin', email: 'root@example.com', password: 'admin password 123' }

const backings = await clusterBackings()
t.teardown(backings.stop)
const missing = chromiumMissing() || nginxMissing() || backings.skip

async function answer (gateway: Gateway, path: string, init: RequestInit = {}) {
  const response = await fetch(`${gateway.url}${path}`, init)
  const text = await response.text()
  let body: Record<string, unknown> = {}
  try {
    body = JSON.parse(text) as Record<string, unknown>
  } catch {}
  return { status: response.status, headers: response.headers, body }
}

/** The public port of each service, for the gateway's upstream servers. */
function upstreamsOf (cluster: Cluster): Upstreams {
  const portOf = (url: string) => Number(new URL(url).port)
  return {
    auth: portOf(cluster.auth[0] as string),
    totp: portOf(cluster.totp[0] as string),
    user: portOf(cluster.user)
  }
}

/** What the gateway sends where, and what it never lets through. */
async function checkRouting (t: Test, gateway: Gateway, serviceLogs: () => string) {
  const jwks = await answer(gateway, '/.well-known/jwks.json')
  t.ok(Array.isArray(jwks.body.keys), '/.well-known/ goes to auth')
  const twoFactorStatus = await answer(gateway, '/api/2fa/status')
  t.equal(twoFactorStatus.body.error, 'unauthorized', '/api/2fa/ to totp')
  const adminTwoFactor = await answer(gateway, '/api/admin/users/abc/2fa', { method: 'DELETE' })
  t.equal(adminTwoFactor.status, 401, 'DELETE /api/admin/users/{id}/2fa reaches totp')
  t.equal((await answer(gateway, '/api/admin/users?email=a')).status, 401, 'the list reaches user')
  t.equal((await answer(gateway, '/api/users/me')).status, 401, '/api/users/ reaches user')

  for (const path of [
    '/internal/credentials/verify',
    '/internal/challenges',
    '/%69nternal/users/1',
    '/api/users/..%2F..%2Finternal/users/1',
    '/api/users/../../internal/users/1',
    '/metrics',
    '/api/nothing-here'
  ]) {
    const refused = await answer(gateway, path, { method: 'POST' })
    t.same([refused.status, refused.body.error], [404, 'not_found'], `${path} is not reachable`)
  }

  const large = await answer(gateway, '/api/users', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email: 'big@example.com', password: 'x'.repeat(20_000), name: 'Big' })
  })
  t.same([large.status, large.body.error], [413, 'payload_too_large'], 'bodies over 16 KiB stop')

  const post = await answer(gateway, '/security/', { method: 'POST' })
  t.same([post.status, post.body.error], [405, 'method_not_allowed'], 'the pages answer GET only')
  const missingPage = await answer(gateway, '/no-such-page')
  t.same([missingPage.status, missingPage.body.error], [404, 'not_found'], 'a missing page')
  const longUri = await answer(gateway, '/api/users/' + 'a'.repeat(9000))
  t.same([longUri.status, longUri.body.error], [414, 'uri_too_long'], 'an address over 8 KiB')
  const bigHeader = await answer(gateway, '/api/users/me', {
    headers: { 'x-big': 'a'.repeat(9000) }
  })
  t.same([bigHeader.status, bigHeader.body.error], [400, 'bad_request'], 'a header over 8 KiB')

  const traced = await answer(gateway, '/api/users/me', {
    headers: { 'x-request-id': 'web-trace-1' }
  })
  t.equal(traced.headers.get('x-request-id'), 'web-trace-1', 'a request id is passed on')
  const deadline = Date.now() + 3000
  while (!serviceLogs().includes('web-trace-1') && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  t.match(serviceLogs(), /"request_id":"web-trace-1"/, 'and the service logs it')
  const fresh = await answer(gateway, '/api/users/me', { headers: { 'x-request-id': 'not ok!' } })
  t.match(fresh.headers.get('x-request-id'), /^[0-9a-f]{32}$/, 'a malformed one is replaced')
  const none = await answer(gateway, '/')
  t.match(none.headers.get('x-request-id'), /^[0-9a-f]{32}$/, 'and a missing one made')
}

t.test('the three services behind the nginx gateway, walked in chromium', {
  skip: missing
}, async (t) => {
  const cluster = await startCluster(t, backings, {
    serviceEnv: {
      user: { ADMIN_EMAIL: ADMIN.email, ADMIN_PASSWORD: ADMIN.password },
      // auth trusts a proxy on loopback for client addresses, as it trusts
      // the gateway in a deployment.
      auth: { TRUST_PROXY: 'loopback' }
    }
  })
  const gateway = await startGateway(upstreamsOf(cluster), webRoot)
  t.teardown(async () => {
    const errors = gateway.errors()
    await gateway.stop()
    if (/\[(emerg|alert|crit)\]/.test(errors)) t.comment(errors)
  })
  const serviceLogs = () => [...cluster.processes.values()].map((p) => p.output()).join('\n')

  await checkSecurityHeaders(t, gateway.url)
  await checkRouting(t, gateway, serviceLogs)

  const browser = await openBrowser(t, gateway.url, 'gateway')
  await walkThePages(t, browser, { baseUrl: gateway.url, user: USER, admin: ADMIN })

  t.same(browser.pageErrors, [], 'no CSP violation or script error on any page')
  t.same(browser.offsite, [], 'the pages asked for nothing outside the gateway')
  t.notMatch(gateway.errors(), /\[(emerg|alert|crit)\]/, 'nginx logged nothing serious')
})
