import t from 'tap'
import { authenticatorCode } from '@twofa/testing'
import { startHarness, type Harness } from './harness.js'

const PASSWORD = 'correct horse battery'

/** One series of a Prometheus text exposition; 0 when it is not there. */
function sample (exposition: string, series: string): number {
  const line = exposition.split('\n').find((candidate) => candidate.startsWith(`${series} `))
  return line ? Number(line.slice(series.length + 1)) : 0
}

async function scrape (h: Harness): Promise<string> {
  const response = await h.system.app.inject('/metrics')
  if (response.statusCode !== 200) throw new Error(`/metrics answered ${response.statusCode}`)
  return response.body
}

/** A user with 2FA on, and a temp token for a sign-in waiting for its second step. */
async function challengedUser (h: Harness) {
  await h.call('POST', '/api/users', { email: 'm@example.com', password: PASSWORD, name: 'M' })
  const credentials = { email: 'm@example.com', password: PASSWORD }
  const token = (await h.call('POST', '/api/sso/token', credentials)).body.token as string
  const setup = await h.call('POST', '/api/2fa/setup', undefined, token)
  const secret = setup.body.secret as string
  await h.call('POST', '/api/2fa/enable',
    { totp_code: authenticatorCode(secret, h.seconds() - 30) }, token)
  const challenge = await h.call('POST', '/api/sso/token', credentials)
  return { secret, temp: challenge.body.temp_token as string }
}

t.test('the one-process start counts second-factor checks by outcome at /metrics', async (t) => {
  const h = await startHarness(t)
  const { secret, temp } = await challengedUser(h)
  const series = (outcome: string) =>
    `twofa_verifications_total{method="totp",purpose="login",outcome="${outcome}"}`
  const before = await scrape(h)

  await h.call('POST', '/api/sso/verify-2fa', { temp_token: temp, totp_code: '000000' })
  await h.call('POST', '/api/sso/verify-2fa',
    { temp_token: temp, totp_code: authenticatorCode(secret, h.seconds()) })
  await h.settle()

  const after = await scrape(h)
  t.equal(sample(after, series('invalid_code')) - sample(before, series('invalid_code')), 1)
  t.equal(sample(after, series('success')) - sample(before, series('success')), 1)
  const refusal = 'twofa_http_refusals_total{route="/api/sso/verify-2fa",status="401",' +
    'error="invalid_code"}'
  t.equal(sample(after, refusal) - sample(before, refusal), 1, 'and the refusal by route')
})

/** The sum of every series of a metric whose labels include `labels`. */
function total (exposition: string, metric: string, labels: string): number {
  return exposition.split('\n')
    .filter((line) => line.startsWith(`${metric}{`) && line.includes(labels))
    .reduce((sum, line) => sum + Number(line.slice(line.lastIndexOf(' ') + 1)), 0)
}

t.test('a wrong code is counted as one refusal, not once more for the internal call ' +
  'behind it', async (t) => {
  const h = await startHarness(t)
  const { temp } = await challengedUser(h)
  const sum = (text: string) =>
    total(text, 'twofa_http_refusals_total', 'error="invalid_code"')
  const before = await scrape(h)

  await h.call('POST', '/api/sso/verify-2fa', { temp_token: temp, totp_code: '000000' })
  await h.call('POST', '/api/sso/verify-2fa', { temp_token: temp, totp_code: '000001' })

  const after = await scrape(h)
  t.equal(sum(after) - sum(before), 2, 'two wrong codes, two refusals across all routes')
  t.notMatch(after, /^twofa_http_refusals_total\{route="\/internal\//m, 'no internal route')
})

t.test('two systems in one process share one registry without registering twice', async (t) => {
  const first = await startHarness(t)
  const second = await startHarness(t)

  const text = await scrape(second)

  t.equal((await first.system.app.inject('/metrics')).statusCode, 200)
  const helps = text.split('\n').filter((line) => line.startsWith('# HELP '))
  t.ok(helps.length > 10, `${helps.length} metrics`)
  t.equal(new Set(helps).size, helps.length, 'each metric once')
})
