import t from 'tap'
import { hashPassword, PasswordChecker, verifyPassword } from '../src/domain/passwords.js'

t.test('passwords are stored as argon2id hashes with the OWASP parameters', async (t) => {
  const hash = await hashPassword('correct horse battery')
  t.match(hash, /^\$argon2id\$v=19\$m=19456,t=2,p=1\$/)
  t.ok(await verifyPassword(hash, 'correct horse battery'))
  t.notOk(await verifyPassword(hash, 'correct horse batterY'))
})

t.test('a malformed stored hash verifies nothing instead of throwing', async (t) => {
  t.notOk(await verifyPassword('not a hash', 'anything'))
})

t.test('an unknown email costs one argon2id verification, like a wrong password', async (t) => {
  const verified: string[] = []
  const checker = new PasswordChecker(async (hash, password) => {
    verified.push(hash)
    return await verifyPassword(hash, password)
  })
  const real = await hashPassword('the right one')

  t.notOk(await checker.check(null, 'guess'))
  t.notOk(await checker.check(real, 'guess'))
  t.ok(await checker.check(real, 'the right one'))

  t.equal(verified.length, 3, 'one verification per check, known account or not')
  t.match(
    verified[0] as string,
    /^\$argon2id\$v=19\$m=19456,t=2,p=1\$/,
    'the stand-in hash has the same cost'
  )
})
