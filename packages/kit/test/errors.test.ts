import t from 'tap'
import { AppError, commonErrors, defineErrors } from '../src/errors.js'

t.test('a declared error builds an AppError with its code, status and message', async (t) => {
  const errors = defineErrors({
    factor_missing: { status: 404, message: 'No second factor is set up.' }
  })

  const error = errors.factor_missing()

  t.type(error, AppError)
  t.match(error, {
    code: 'factor_missing',
    statusCode: 404,
    message: 'No second factor is set up.'
  })
})

t.test('a declared error keeps its cause and extra fields apart from its message', async (t) => {
  const cause = new Error('E11000 duplicate key')

  const error = commonErrors.rate_limited({ cause, extra: { retry_after: 30 } })

  t.equal(error.cause, cause)
  t.same(error.extra, { retry_after: 30 })
  t.equal(error.message, 'Too many requests; slow down.')
})

t.test('a message given at the raise replaces the declared one', async (t) => {
  t.equal(
    commonErrors.invalid_request({ message: 'body.code is required.' }).message,
    'body.code is required.'
  )
})

t.test('every common error is declared with a 4xx or 5xx status and a sentence', async (t) => {
  for (const [code, spec] of Object.entries(commonErrors.specs)) {
    t.ok(spec.status >= 400 && spec.status < 600, code)
    t.match(spec.message, /^[A-Z].*\.$/, code)
  }
})
