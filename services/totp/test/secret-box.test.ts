import { randomBytes } from 'node:crypto'
import t from 'tap'
import { parseKeyRing, SecretBox, type KeyRing } from '../src/domain/secret-box.js'

const keyA = randomBytes(32)
const keyB = randomBytes(32)
const ring = (current: string): KeyRing => {
  const keys = `a:${keyA.toString('base64')},b:${keyB.toString('base64')}`
  return parseKeyRing(keys, current) as KeyRing
}

t.test('a sealed secret opens to the same bytes for its owner', async (t) => {
  const box = new SecretBox(ring('a'))
  const secret = randomBytes(20)
  const sealed = box.seal(secret, 'user-1')
  t.equal(sealed.kid, 'a')
  t.same(box.open(sealed, 'user-1'), secret)
  t.notMatch(sealed.ct, secret.toString('base64'), 'the ciphertext is not the secret')
})

t.test('a sealed secret copied to another account does not open', async (t) => {
  const box = new SecretBox(ring('a'))
  const sealed = box.seal(randomBytes(20), 'user-1')
  t.throws(() => box.open(sealed, 'user-2'))
})

t.test('a tampered ciphertext does not open', async (t) => {
  const box = new SecretBox(ring('a'))
  const sealed = box.seal(randomBytes(20), 'user-1')
  const bytes = Buffer.from(sealed.ct, 'base64')
  bytes[0] = (bytes[0] as number) ^ 1
  t.throws(() => box.open({ ...sealed, ct: bytes.toString('base64') }, 'user-1'))
})

t.test('after rotation new secrets use the new key and old ones still open', async (t) => {
  const before = new SecretBox(ring('a')).seal(Buffer.from('old secret bytes....'), 'u')
  const after = new SecretBox(ring('b'))
  t.equal(after.seal(randomBytes(20), 'u').kid, 'b')
  t.equal(after.open(before, 'u').toString(), 'old secret bytes....')
})

t.test('each seal uses a fresh nonce', async (t) => {
  const box = new SecretBox(ring('a'))
  const secret = randomBytes(20)
  t.not(box.seal(secret, 'u').iv, box.seal(secret, 'u').iv)
})

t.test('a key ring lists every problem: bad id, ' +
  'wrong key length, missing current key', async (t) => {
  const badId = `bad id:${keyA.toString('base64')}`
  const short = `short:${randomBytes(16).toString('base64')}`
  const problems = parseKeyRing(`${badId},${short}`, 'zzz')
  t.ok(Array.isArray(problems))
  t.equal((problems as string[]).length, 3)
  t.match((problems as string[]).join('\n'), /32 bytes/)
  t.match((problems as string[]).join('\n'), /current key id "zzz"/)
})

t.test('opening a secret sealed under an unknown key id fails with a clear message', async (t) => {
  const box = new SecretBox(ring('a'))
  const sealed = { ...box.seal(randomBytes(20), 'u'), kid: 'gone' }
  t.throws(() => box.open(sealed, 'u'), /no encryption key with id "gone"/)
})
