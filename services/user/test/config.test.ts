import t from 'tap'
import { loadUserConfig } from '../src/config.js'

const VALID = {
  MONGO_URL: 'memory://',
  AMQP_URL: 'memory://',
  JWKS_URL: 'http://127.0.0.1:1/.well-known/jwks.json',
  INTERNAL_TOKEN: 'internal-credential-of-at-least-32-chars'
}

t.test('a TRUST_PROXY that fastify would refuse is a configuration problem, ' +
  'named by its setting', async (t) => {
  t.equal(loadUserConfig({ ...VALID, TRUST_PROXY: 'loopback, 10.0.0.0/8' }).TRUST_PROXY,
    'loopback, 10.0.0.0/8')
  t.throws(() => loadUserConfig({ ...VALID, TRUST_PROXY: 'proxy.internal' }),
    /TRUST_PROXY: must be true, false, or a comma-separated list/)
})
