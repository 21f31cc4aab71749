import { readFileSync } from 'node:fs'
import t from 'tap'
import { API_DOCUMENT_FILE, buildApiDocument } from '../src/api-docs.js'
import { startHarness } from './harness.js'

t.test('the committed OpenAPI document matches the routes (pnpm openapi rewrites it)',
  async (t) => {
    const committed = JSON.parse(readFileSync(API_DOCUMENT_FILE, 'utf8')) as unknown

    t.same(await buildApiDocument(), committed)
  })

t.test('the OpenAPI document has the public routes only', async (t) => {
  const document = await buildApiDocument() as { paths: Record<string, unknown> }
  const paths = Object.keys(document.paths)

  t.ok(paths.includes('/api/sso/verify-2fa'))
  t.ok(paths.includes('/api/admin/users/{id}/2fa'))
  t.same(paths.filter((path) => path.startsWith('/internal') || path.startsWith('/docs') ||
    path === '/metrics'), [])
})

t.test('/docs serves the API browser and /docs/json the document', async (t) => {
  const h = await startHarness(t)

  const page = await h.system.app.inject('/docs/')
  const document = await h.system.app.inject('/docs/json')

  t.equal(page.statusCode, 200)
  t.match(page.headers['content-type'], /text\/html/)
  t.equal(document.statusCode, 200)
  t.match(document.json(), { openapi: '3.1.0', info: { title: 'twofa' } })
})
