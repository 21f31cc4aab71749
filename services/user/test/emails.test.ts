import t from 'tap'
import { EMAIL_PROBLEMS, checkedEmail, emailProblem, normaliseEmail } from '../src/domain/emails.js'

t.test('ordinary addresses in any script pass the email rule', async (t) => {
  for (const address of [
    'alice@example.com',
    'Alice.Smith+2fa@mail.example.co.uk',
    'o\'brien_x-y@example.org',
    'a@b.cd',
    'user@xn--e1afmkfd.xn--p1ai',
    'иван@пример.рф',
    'δοκιμή@παράδειγμα.ελ',
    '用户@例子.中国',
    'yılmaz@example.com.tr',
    'josé@münchen.de',
    'नमस्ते@example.com',
    `${'a'.repeat(64)}@example.com`
  ]) {
    t.equal(emailProblem(address), null, address)
  }
})

t.test('control, format and space characters are refused anywhere in an email', async (t) => {
  for (const address of [
    'ali\u200bce@example.com',
    'alice@exam\u200dple.com',
    '\u202eevil@example.com',
    'alice\u200e@example.com',
    'ali\u00adce@example.com',
    'ali ce@example.com',
    'alice@example .com',
    'ali\u00a0ce@example.com',
    'ali\tce@example.com',
    'ali\u0000ce@example.com',
    'ali\u007fce@example.com',
    'ali\ue000ce@example.com'
  ]) {
    t.equal(emailProblem(address), EMAIL_PROBLEMS.invisible, JSON.stringify(address))
  }
})

t.test('default-ignorable code points are refused anywhere in an email, ' +
  'though the rule reads them as marks or letters', async (t) => {
  for (const address of [
    'al\u034fice@example.com',
    'alice\ufe0f@example.com',
    'ali\udb40\udd00ce@example.com',
    'ali\u180bce@example.com',
    'ali\u17b4ce@example.com',
    'ali\u115fce@example.com',
    'ali\u3164ce@example.com',
    'alice@exa\u034fmple.com',
    'alice@exa\ufe0fmple.com',
    'alice@exa\u3164mple.com',
    'alice@example.co\u034fm'
  ]) {
    t.equal(emailProblem(normaliseEmail(address)), EMAIL_PROBLEMS.invisible,
      JSON.stringify(address))
  }
})

t.test('an email needs exactly one @ with something on each side', async (t) => {
  for (const address of ['alice', 'alice@', '@example.com', 'a@b@example.com', '']) {
    t.equal(emailProblem(address), EMAIL_PROBLEMS.shape, address)
  }
})

t.test('punctuation outside . _ + - \' and stray dots are refused before the @', async (t) => {
  for (const address of [
    '<script>alert(1)</script>@example.com',
    'x&issuer=Evil#:?/%@example.com',
    '"alice"@example.com',
    'a,b@example.com',
    'a;b@example.com',
    'a\\b@example.com',
    'a[b]@example.com',
    'a!b@example.com',
    'a*b@example.com',
    '.alice@example.com',
    'alice.@example.com',
    'al..ice@example.com',
    '\u0301alice@example.com',
    '①@example.com'
  ]) {
    t.equal(emailProblem(address), EMAIL_PROBLEMS.localPart, address)
  }
})

t.test('a domain needs dot-separated labels and a top-level domain of 2+ letters', async (t) => {
  for (const address of [
    'alice@example.com.',
    'alice@example',
    'alice@.example.com',
    'alice@example..com',
    'alice@exa_mple.com',
    'alice@-example.com',
    'alice@example-.com',
    'alice@example.c',
    'alice@example.123',
    'alice@example.c0m',
    'alice@[127.0.0.1]',
    'alice@127.0.0.1',
    'alice@exa<mple.com',
    'alice@example.xn--zz',
    `alice@${'a'.repeat(64)}.com`
  ]) {
    t.equal(emailProblem(address), EMAIL_PROBLEMS.domain, address)
  }
})

t.test('too long an email is refused: 64 bytes before the @, 254 in all', async (t) => {
  t.equal(emailProblem(`${'a'.repeat(65)}@example.com`), EMAIL_PROBLEMS.tooLong)
  t.equal(emailProblem(`${'й'.repeat(33)}@example.com`), EMAIL_PROBLEMS.tooLong, '66 bytes')
  const labels = Array.from({ length: 4 }, () => 'b'.repeat(61)).join('.')
  t.equal(emailProblem(`alice@${labels}.com`), EMAIL_PROBLEMS.tooLong)
})

t.test('a part that mixes Latin, Greek and Cyrillic letters is refused; ' +
  'letters of one script that look like others are not', async (t) => {
  t.equal(emailProblem('\u0430lice@example.com'), EMAIL_PROBLEMS.mixedScripts, 'Cyrillic а')
  t.equal(emailProblem('\u03bfscar@example.com'), EMAIL_PROBLEMS.mixedScripts, 'Greek ο')
  t.equal(emailProblem('alice@\u0440aypal.com'), EMAIL_PROBLEMS.mixedScripts, 'Cyrillic р')
  t.equal(emailProblem('иван@example.com'), null, 'one script per part')
  t.equal(emailProblem('alıce@example.com'), null, 'dotless ı is a Latin letter')
})

t.test('the rule applies to the NFKC form, which is also what is stored', async (t) => {
  t.equal(normaliseEmail(' ａlice@ｅxample.com '), 'alice@example.com')
  t.equal(checkedEmail('Ａlice＠example.com'), 'Alice@example.com', 'case is kept')
  t.equal(emailProblem(normaliseEmail('a\u3000b@example.com')), EMAIL_PROBLEMS.invisible)
  t.throws(() => checkedEmail('alice@example.com.'), {
    code: 'invalid_request',
    statusCode: 400,
    message: EMAIL_PROBLEMS.domain
  })
})
