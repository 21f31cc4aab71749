import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { freePort, startProcess, waitForOk } from '@twofa/testing'
import { chromiumMissing, openBrowser, repositoryRoot } from './browser.js'
import { checkSecurityHeaders } from './headers.js'
import {
  deadChallenges,
  keyboardOnlySignIn,
  turnOffOwnTwoFactor,
  walkThePages
} from './walk.js'

const USER = {
  name: 'Alice Example',
  email: 'alice@example.com',
  password: 'correct horse battery'
}
const ADMIN = { name: 'Admin', email: 'root@example.com', password: 'admin password 123' }

const missing = chromiumMissing()

t.test('the one-process start serves the pages, and a person walks them in chromium', {
  skip: missing
}, async (t) => {
  const dataDir = mkdtempSync(join(tmpdir(), 'twofa-web-'))
  const port = await freePort()
  const server = startProcess('twofa', join(repositoryRoot, 'services/standalone/dist/server.js'), {
    HOST: '127.0.0.1',
    PORT: String(port),
    DATA_DIR: dataDir,
    LOG_LEVEL: 'warn',
    REDIS_URL: 'memory://',
    MONGO_URL: 'memory://',
    AMQP_URL: 'memory://',
    ADMIN_EMAIL: ADMIN.email,
    ADMIN_PASSWORD: ADMIN.password
  })
  t.teardown(async () => {
    await server.stop()
    rmSync(dataDir, { recursive: true, force: true })
  })
  const baseUrl = `http://127.0.0.1:${port}`
  try {
    await waitForOk(`${baseUrl}/readyz`, 20_000, 'the one-process start')
  } catch (error) {
    t.comment(server.output())
    throw error
  }

  await checkSecurityHeaders(t, baseUrl)

  const browser = await openBrowser(t, baseUrl, 'one-process')
  const { adminPhone } = await walkThePages(t, browser, { baseUrl, user: USER, admin: ADMIN })
  await keyboardOnlySignIn(t, browser, { baseUrl, who: ADMIN, phone: adminPhone })
  await deadChallenges(t, browser, { baseUrl, who: ADMIN, phone: adminPhone })
  await turnOffOwnTwoFactor(t, browser, { baseUrl, who: ADMIN, phone: adminPhone })

  t.same(browser.pageErrors, [], 'no CSP violation or script error on any page')
  t.same(browser.offsite, [], 'the pages asked for nothing outside the server')
})
