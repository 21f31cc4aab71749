import t from 'tap'
import { createApp } from '../src/app.js'
import { proofFrom, recoveryCodeSchema, totpCodeSchema } from '../src/codes.js'
import { AppError } from '../src/errors.js'
import { createLogger } from '../src/logger.js'

t.test('a proof with only a TOTP code is a TOTP proof', async (t) => {
  t.same(proofFrom({ totp_code: '005924' }), { totp_code: '005924' })
})

t.test('a proof with only a recovery code is a recovery proof', async (t) => {
  t.same(proofFrom({ recovery_code: 'abcd-efgh' }), { recovery_code: 'abcd-efgh' })
})

t.test('a proof with both codes or neither is the client\'s mistake', async (t) => {
  for (const body of [{}, { totp_code: '005924', recovery_code: 'abcd-efgh' }]) {
    const error = t.throws(() => proofFrom(body)) as AppError
    t.type(error, AppError)
    t.match(error, { code: 'invalid_request', statusCode: 400 })
  }
})

t.test('K03 K16 the code schemas accept six-digit strings ' +
  'and readable recovery codes only', async (t) => {
  const app = createApp({ logger: createLogger({ service: 'test', level: 'silent' }) })
  app.post('/verify', {
    schema: {
      body: {
        type: 'object',
        additionalProperties: false,
        properties: { totp_code: totpCodeSchema, recovery_code: recoveryCodeSchema }
      }
    }
  }, async (request) => proofFrom(request.body as object))
  t.teardown(async () => { await app.close() })

  const cases: Array<[unknown, number]> = [
    [{ totp_code: '005924' }, 200],
    [{ totp_code: 5924 }, 400],
    [{ totp_code: '5924' }, 400],
    [{ totp_code: '1234567' }, 400],
    [{ totp_code: '12345a' }, 400],
    [{ totp_code: '1'.repeat(10_000) }, 400],
    [{ recovery_code: 'ABCD efgh-1234' }, 200],
    [{ recovery_code: '' }, 400],
    [{ recovery_code: 'a'.repeat(65) }, 400],
    [{ recovery_code: { $gt: '' } }, 400],
    [{}, 400]
  ]
  for (const [payload, status] of cases) {
    const response = await app.inject({
      method: 'POST',
      url: '/verify',
      payload: payload as object
    })
    t.equal(response.statusCode, status, JSON.stringify(payload).slice(0, 60))
  }
})
