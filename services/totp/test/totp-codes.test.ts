import { createHmac } from 'node:crypto'
import t from 'tap'
import { codeAt, matchTimeStep, otpauthUri, timeStepAt, toBase32 } from '../src/domain/totp-codes.js'

// RFC 4226 Appendix D / RFC 6238 Appendix B seeds (see shared/cases/rfc-vectors.md).
const SHA1_SEED = Buffer.from('12345678901234567890')
const SHA256_SEED = Buffer.from('12345678901234567890123456789012')
const SHA512_SEED = Buffer.from('1234567890123456789012345678901234567890123456789012345678901234')

t.test('RFC 4226 appendix D: HOTP values for counters 0-9 come out of the TOTP code path', async (t) => {
  const expected = ['755224', '287082', '359152', '969429', '338314', '254676', '287922', '162583', '399871', '520489']
  for (const [counter, code] of expected.entries()) {
    // A TOTP step is an HOTP counter: step n starts at n * 30 seconds.
    t.equal(await codeAt(SHA1_SEED, counter * 30), code, `counter ${counter}`)
  }
})
