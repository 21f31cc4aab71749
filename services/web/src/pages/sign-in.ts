import { ApiError, call, hasSession } from '../api.js'
import { codeField, isTotpCode, NOT_SIX_DIGITS, wrongCodeMessage } from '../codes.js'
import { byId, field, go, onSubmit, say, showOnly, unsay } from '../dom.js'
import type { Notice } from '../session.js'

type SignInAnswer =
  | { success: true, token_type: string, expires_in: number }
  | { requires_2fa: true, temp_token: string, expires_in: number }

interface VerifyAnswer {
  success: true
  method: 'totp' | 'recovery_code'
  recovery_codes_remaining?: number
}

const NOTICES: Record<Notice, string> = {
  signed_out: 'You have signed out.',
  session_ended: 'Your session has ended. Sign in again to continue.'
}

const EXPIRED = 'Your sign-in expired: the code has to be entered within a few minutes of ' +
  'the password. Sign in with your password again.'
const TOO_MANY = 'Too many wrong codes for this sign-in. Sign in with your password again.'
const NO_LONGER_VALID = 'This sign-in is no longer valid (it expired or was used up). ' +
  'Sign in with your password again.'

const passwordStep = byId('password-step')
const codeStep = byId('code-step')
const recoveryStep = byId('recovery-step')
const steps = [passwordStep, codeStep, recoveryStep]
const email = byId<HTMLInputElement>('email')
const password = byId<HTMLInputElement>('password')
const passwordError = byId('password-error')
const totpCode = codeField('totp-code')
const codeError = byId('code-error')
const recoveryCode = byId<HTMLInputElement>('recovery-code')
const recoveryError = byId('recovery-error')

/**
 * The challenge token between the two steps. It lives in this variable only
 * (never in storage), so closing or reloading the page drops it.
 */
let challenge: { token: string, timer: number } | null = null

function showNotice (): void {
  const code = new URLSearchParams(window.location.search).get('notice')
  if (code !== null && code in NOTICES) say(byId('notice'), NOTICES[code as Notice])
}

/** Back to the password step, saying why. */
function restart (reason?: string): void {
  if (challenge) window.clearTimeout(challenge.timer)
  challenge = null
  totpCode.value = ''
  recoveryCode.value = ''
  password.value = ''
  unsay(codeError)
  unsay(recoveryError)
  if (reason) say(passwordError, reason)
  showOnly(steps, passwordStep, email.value ? password : email)
}

function startChallenge (token: string, expiresInSeconds: number): void {
  const timer = window.setTimeout(() => restart(EXPIRED), expiresInSeconds * 1000)
  challenge = { token, timer }
  unsay(passwordError)
  showOnly(steps, codeStep, totpCode)
}

async function finish (answer: VerifyAnswer): Promise<never> {
  if (challenge) window.clearTimeout(challenge.timer)
  challenge = null
  if (answer.method === 'recovery_code') return await go('/security/?signed_in_with=recovery_code')
  return await go('/security/')
}

/**
 * A refused second step: a wrong code stays on the step with the attempts
 * left; a challenge that is dead, expired or paused sends the person back to
 * the password with the reason.
 */
function refused (error: unknown, input: HTMLInputElement, region: HTMLElement): void {
  if (!(error instanceof ApiError)) throw error

  if (error.code === 'invalid_code' && error.body.attempts_remaining === 0) {
    restart(TOO_MANY)
  } else if (error.code === 'invalid_code') {
    say(region, wrongCodeMessage(error.body))
    input.select()
    input.focus()
  } else if (error.code === 'too_many_attempts') {
    restart(TOO_MANY)
  } else if (error.code === 'invalid_temp_token') {
    restart(NO_LONGER_VALID)
  } else if (error.code === 'account_locked') {
    const seconds = Number(error.body.retry_after)
    const minutes = Number.isFinite(seconds) ? Math.max(1, Math.ceil(seconds / 60)) : 15
    restart(`Too many wrong codes for this account: two-factor sign-in is paused for about ${
      minutes} ${minutes === 1 ? 'minute' : 'minutes'}.`)
  } else {
    throw error
  }
}

async function verify (
  proof: Record<string, string>,
  input: HTMLInputElement,
  region: HTMLElement
): Promise<void> {
  if (!challenge) {
    restart(NO_LONGER_VALID)
    return
  }

  try {
    const answer = await call<VerifyAnswer>('/api/sso/verify-2fa', {
      body: { temp_token: challenge.token, ...proof }
    })
    await finish(answer)
  } catch (error) {
    refused(error, input, region)
  }
}

onSubmit(byId<HTMLFormElement>('password-form'), {
  error: passwordError,
  focusOnError: password
}, async (data) => {
  const answer = await call<SignInAnswer>('/api/sso/token', {
    body: { email: field(data, 'email'), password: String(data.get('password') ?? '') }
  })
  if ('requires_2fa' in answer) startChallenge(answer.temp_token, answer.expires_in)
  else await go('/security/')
})

onSubmit(byId<HTMLFormElement>('code-form'), {
  error: codeError,
  focusOnError: totpCode
}, async () => {
  const code = totpCode.value
  if (!isTotpCode(code)) {
    say(codeError, NOT_SIX_DIGITS)
    totpCode.focus()
    return
  }
  await verify({ totp_code: code }, totpCode, codeError)
})

onSubmit(byId<HTMLFormElement>('recovery-form'), {
  error: recoveryError,
  focusOnError: recoveryCode
}, async (data) => {
  await verify({ recovery_code: field(data, 'recovery_code') }, recoveryCode, recoveryError)
})

byId('use-recovery').addEventListener('click', () => {
  unsay(recoveryError)
  showOnly(steps, recoveryStep, recoveryCode)
})
byId('use-code').addEventListener('click', () => {
  unsay(codeError)
  showOnly(steps, codeStep, totpCode)
})
for (const button of document.querySelectorAll('[data-restart]')) {
  button.addEventListener('click', () => restart())
}

showNotice()
// Someone who is still signed in goes straight to their settings.
if (hasSession()) {
  call('/api/users/me').then(async () => await go('/security/'), () => {})
}
