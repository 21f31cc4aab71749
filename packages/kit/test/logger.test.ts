import t from 'tap'
import { LogCapture } from '@twofa/testing'
import { createLogger, SECRET_FIELDS } from '../src/logger.js'

t.test('secret fields are redacted at the top level and two levels down', async (t) => {
  const logs = new LogCapture()
  const log = createLogger({ service: 'test', level: 'info', destination: logs })

  for (const field of SECRET_FIELDS) {
    log.info({
      [field]: 'top-secret',
      body: { [field]: 'nested-secret', inner: { [field]: 'deep-secret' } }
    }, field)
  }

  t.equal(logs.lines.length, SECRET_FIELDS.length)
  t.notMatch(logs.text(), /top-secret|nested-secret|deep-secret/)
  t.match(logs.entries()[0], {
    password: '[redacted]',
    body: { password: '[redacted]', inner: { password: '[redacted]' } }
  })
})

t.test('each line names the service and its level by name', async (t) => {
  const logs = new LogCapture()

  createLogger({ service: 'totp', level: 'info', destination: logs })
    .warn({ user_id: 'u1' }, 'locked')

  t.match(logs.entries()[0], { service: 'totp', level: 'warn', user_id: 'u1', msg: 'locked' })
})
