import t from 'tap'
import {
  formatRecoveryCode,
  generateRecoveryCodes,
  normaliseRecoveryCode,
  RECOVERY_ALPHABET,
  RecoveryCodeHasher
} from '../src/domain/recovery-codes.js'

t.test('ten codes, grouped xxxx-xxxx-xxxx, all different', async (t) => {
  const codes = generateRecoveryCodes()
  t.equal(codes.length, 10)
  for (const code of codes) t.match(code, /^[a-z0-9]{4}-[a-z0-9]{4}-[a-z0-9]{4}$/)
  t.equal(new Set(codes).size, 10)
})

t.test('codes use no look-alike characters and carry at least 50 bits', async (t) => {
  for (const char of '01ilo') t.notOk(RECOVERY_ALPHABET.includes(char), `no "${char}"`)
  const bits = 12 * Math.log2(RECOVERY_ALPHABET.length)
  t.ok(bits >= 50, `${bits.toFixed(1)} bits`)
  const seen = new Set(generateRecoveryCodes(50).join('').replaceAll('-', ''))
  for (const char of seen) t.ok(RECOVERY_ALPHABET.includes(char))
})

t.test('a code is accepted in any case, with or without separators', async (t) => {
  const canonical = 'abcd2345efgh'
  const variants = [
    'abcd-2345-efgh',
    'ABCD-2345-EFGH',
    'abcd2345efgh',
    ' abcd 2345 efgh ',
    'Abcd--2345 EFGH'
  ]
  for (const typed of variants) {
    t.equal(normaliseRecoveryCode(typed), canonical, JSON.stringify(typed))
  }
})

t.test('input that cannot be a code is refused before any lookup', async (t) => {
  for (const typed of ['abcd-2345', 'abcd-2345-efgh-j', 'abcd-2345-efg0', 'abcd_2345_efgh', '']) {
    t.equal(normaliseRecoveryCode(typed), null, JSON.stringify(typed))
  }
})

t.test('formatting groups a raw code in fours', async (t) => {
  t.equal(formatRecoveryCode('abcd2345efgh'), 'abcd-2345-efgh')
})

t.test('hashes depend on the pepper and the owner, and only a stored hash matches', async (t) => {
  const hasher = new RecoveryCodeHasher('pepper-one-pepper-one-pepper-one')
  const other = new RecoveryCodeHasher('pepper-two-pepper-two-pepper-two')
  const hash = hasher.hash('u1', 'abcd2345efgh')

  t.match(hash, /^[0-9a-f]{64}$/)
  t.not(hash, other.hash('u1', 'abcd2345efgh'), 'another pepper, another hash')
  t.not(hash, hasher.hash('u2', 'abcd2345efgh'), 'another owner, another hash')
  t.equal(hasher.findMatch('u1', 'abcd2345efgh', ['00', hash, 'ff'.repeat(32)]), hash)
  t.equal(hasher.findMatch('u1', 'zzzz2345efgh', [hash]), null)
  t.equal(hasher.findMatch('u2', 'abcd2345efgh', [hash]), null)
})
