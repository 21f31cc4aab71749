import { createHmac } from 'node:crypto'
import t from 'tap'
import { base32ToBytes } from '@twofa/testing'
import {
  codeAt,
  matchTimeStep,
  otpauthUri,
  timeStepAt,
  toBase32
} from '../src/domain/totp-codes.js'

// RFC 4226 Appendix D / RFC 6238 Appendix B seeds (shared/cases/rfc-vectors.md).
const SHA1_SEED = Buffer.from('12345678901234567890')
const SHA256_SEED = Buffer.from('12345678901234567890123456789012')
const SHA512_SEED = Buffer.from('1234567890123456789012345678901234567890123456789012345678901234')

t.test('RFC 4226 appendix D: ' +
  'HOTP values for counters 0-9 come out of the TOTP code path', async (t) => {
  const expected = [
    '755224', '287082', '359152', '969429', '338314',
    '254676', '287922', '162583', '399871', '520489'
  ]
  for (const [counter, code] of expected.entries()) {
    // A TOTP step is an HOTP counter: step n starts at n * 30 seconds.
    t.equal(await codeAt(SHA1_SEED, counter * 30), code, `counter ${counter}`)
  }
})

const APPENDIX_B: Array<[number, string, string, string]> = [
  [59, '94287082', '46119246', '90693936'],
  [1111111109, '07081804', '68084774', '25091201'],
  [1111111111, '14050471', '67062674', '99943326'],
  [1234567890, '89005924', '91819424', '93441116'],
  [2000000000, '69279037', '90698825', '38618901'],
  // 2 * 10^10 s does not fit in 32 bits: catches time kept in a 32-bit integer.
  [20000000000, '65353130', '77737706', '47863826']
]

t.test('K01 K02 RFC 6238 appendix B: every row, ' +
  'every hash, 8 digits, with the right seed lengths', async (t) => {
  for (const [time, sha1, sha256, sha512] of APPENDIX_B) {
    t.equal(await codeAt(SHA1_SEED, time, { digits: 8 }), sha1, `SHA1 at ${time}`)
    t.equal(
      await codeAt(SHA256_SEED, time, { digits: 8, algorithm: 'sha256' }),
      sha256,
      `SHA256 at ${time}`
    )
    t.equal(
      await codeAt(SHA512_SEED, time, { digits: 8, algorithm: 'sha512' }),
      sha512,
      `SHA512 at ${time}`
    )
  }
})

t.test('derived 6-digit values match the product parameters (SHA-1, 6 digits, 30 s)', async (t) => {
  const expected: Array<[number, string]> = [
    [59, '287082'], [1111111109, '081804'], [1111111111, '050471'],
    [1234567890, '005924'], [2000000000, '279037'], [20000000000, '353130']
  ]
  for (const [time, code] of expected) t.equal(await codeAt(SHA1_SEED, time), code, `at ${time}`)
})

t.test('K03 codes with leading zeros stay six-character strings and verify', async (t) => {
  const code = await codeAt(SHA1_SEED, 1234567890)
  t.equal(code, '005924')
  t.equal(typeof code, 'string')
  t.equal(await matchTimeStep(SHA1_SEED, '005924', 1234567890, 1), timeStepAt(1234567890))
  t.equal(
    await matchTimeStep(SHA1_SEED, '5924', 1234567890, 1),
    null,
    'the code without its zeros is not the code'
  )
})

t.test('K06 the previous step\'s code is accepted right after the step rolls over', async (t) => {
  // 1111111111 is the first second of step 37037037; 081804 belongs to 37037036.
  t.equal(await matchTimeStep(SHA1_SEED, '081804', 1111111111, 1), 37037036)
})

t.test('K06 the next step\'s code is accepted ' +
  'at the end of a step (one step either way)', async (t) => {
  t.equal(await matchTimeStep(SHA1_SEED, '050471', 1111111109, 1), 37037037)
})

t.test('K07 a client 29 s behind or ahead verifies; one 95 s behind does not', async (t) => {
  const behind = await codeAt(SHA1_SEED, 1111111082)
  t.equal(await matchTimeStep(SHA1_SEED, behind, 1111111111, 1), 37037036)
  const ahead = await codeAt(SHA1_SEED, 1111111138)
  t.equal(await matchTimeStep(SHA1_SEED, ahead, 1111111109, 1), 37037037)
  t.equal(await codeAt(SHA1_SEED, 1111111016), '404137')
  t.equal(await matchTimeStep(SHA1_SEED, '404137', 1111111111, 1), null)
})

t.test('a window of zero accepts only the current step', async (t) => {
  t.equal(await matchTimeStep(SHA1_SEED, '081804', 1111111111, 0), null)
  t.equal(await matchTimeStep(SHA1_SEED, '050471', 1111111111, 0), 37037037)
})

t.test('a code two steps old is refused with the default window', async (t) => {
  const twoStepsAgo = await codeAt(SHA1_SEED, 1111111111 - 60)
  t.equal(await matchTimeStep(SHA1_SEED, twoStepsAgo, 1111111111, 1), null)
})

t.test('base32 is RFC 4648, upper case, without padding', async (t) => {
  t.equal(toBase32(SHA1_SEED), 'GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ')
  // 32 bytes is not a multiple of 5: the RFC form ends in "====", which we leave out.
  t.equal(toBase32(SHA256_SEED), 'GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQGEZA')
  t.equal(toBase32(Buffer.from('f')), 'MY')
  t.equal(toBase32(Buffer.alloc(0)), '')
})

t.test('K04 the otpauth URI carries an unpadded upper-case secret, ' +
  'issuer prefix and parameter', async (t) => {
  const uri = new URL(otpauthUri('Acme', 'alice@example.com', SHA256_SEED))
  t.equal(uri.protocol, 'otpauth:')
  t.equal(uri.host, 'totp')
  t.equal(decodeURIComponent(uri.pathname), '/Acme:alice@example.com')
  t.equal(uri.searchParams.get('secret'), 'GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQGEZA')
  t.notMatch(uri.search, /%3D|=$/, 'no padding, raw or percent-encoded')
  t.equal(uri.searchParams.get('issuer'), 'Acme')
})

t.test('a colon in the account name is removed from the label (key URI format)', async (t) => {
  const uri = new URL(otpauthUri('Acme', 'odd:name@example.com', SHA1_SEED))
  t.equal(decodeURIComponent(uri.pathname), '/Acme:oddname@example.com')
})

/** An implementation of RFC 6238 written from the RFC, independent of otplib. */
function independentCode (secret: Buffer, epochSeconds: number): string {
  const counter = Buffer.alloc(8)
  counter.writeBigUInt64BE(BigInt(Math.floor(epochSeconds / 30)))
  const digest = createHmac('sha1', secret).update(counter).digest()
  const offset = (digest[digest.length - 1] as number) & 0x0f
  const value = digest.readUInt32BE(offset) & 0x7fffffff
  return String(value % 1_000_000).padStart(6, '0')
}

t.test('K05 a code computed independently from the published URI verifies', async (t) => {
  const secret = Buffer.from('0123456789abcdefghij')
  const uri = new URL(otpauthUri('Acme', 'bob@example.com', secret))
  const published = base32ToBytes(uri.searchParams.get('secret') as string)
  t.same(published, secret, 'the URI holds the secret itself, not a re-encoding of it')

  const now = 1_800_000_000
  const code = independentCode(published, now)
  t.equal(await matchTimeStep(secret, code, now, 1), timeStepAt(now))
})
