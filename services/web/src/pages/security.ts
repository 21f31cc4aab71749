import { ApiError, call, messageOf } from '../api.js'
import { copyText } from '../clipboard.js'
import { codeField, groupsOfFour, isTotpCode, NOT_SIX_DIGITS, wrongCodeMessage } from '../codes.js'
import { byId, onSubmit, say, showOnly, unsay } from '../dom.js'
import { dateOf, startLayout } from '../layout.js'
import { RecoveryCodesView } from '../recovery-codes.js'
import { requireProfile, type Profile } from '../session.js'

interface Status {
  enabled: boolean
  enabled_at: string | null
  recovery_codes_remaining: number
}

interface Enrollment {
  secret: string
  otpauth_url: string
  qr_svg: string
  expires_in: number
}

interface Codes {
  recovery_codes: string[]
}

const overview = byId('overview')
const enroll = byId('enroll')
const codes = byId('codes')
const regenerate = byId('regenerate')
const disable = byId('disable')
const sections = [overview, enroll, codes, regenerate, disable]
const note = byId('overview-note')
const enrollCode = codeField('enroll-code')
const regenerateCode = codeField('regenerate-code')
const disableCode = codeField('disable-code')
const codesView = new RecoveryCodesView()
let profile: Profile
let secret = ''

function codesLeftText (left: number): string {
  return left === 1 ? '1 recovery code' : `${left} recovery codes`
}

/**
 * The 2FA state as the 2FA service has it (the profile's copy may lag a
 * moment). The focus moves to it after an action, not when the page opens.
 */
async function showOverview (message?: string, focus = true): Promise<void> {
  const status = await call<Status>('/api/2fa/status')
  const state = byId('twofa-status')
  state.textContent = status.enabled
    ? `On${status.enabled_at ? ` since ${dateOf(status.enabled_at)}` : ''}`
    : 'Off'
  state.className = status.enabled ? 'status-on' : 'status-off'
  byId('codes-left').textContent = status.enabled ? String(status.recovery_codes_remaining) : '—'
  byId('when-on').hidden = !status.enabled
  byId('when-off').hidden = status.enabled
  if (message) say(note, message)
  else unsay(note)
  if (focus) showOnly(sections, overview)
  else overview.hidden = false
  byId('loading').hidden = true
  showRecoveryBanner(status)
}

/** After a sign-in with a recovery code: check the app, make new codes, this many left. */
function showRecoveryBanner (status: Status): void {
  const banner = byId('recovery-banner')
  const signedInWithRecovery =
    new URLSearchParams(window.location.search).get('signed_in_with') === 'recovery_code'
  banner.hidden = !(signedInWithRecovery && status.enabled)
  byId('recovery-banner-left').textContent =
    `You have ${codesLeftText(status.recovery_codes_remaining)} left.`
}

/** A form asking for a current code; the right code runs `action`. */
function codeForm (
  formId: string,
  input: HTMLInputElement,
  errorId: string,
  action: (code: string) => Promise<void>
): void {
  const error = byId(errorId)
  onSubmit(byId<HTMLFormElement>(formId), { error, focusOnError: input }, async () => {
    if (!isTotpCode(input.value)) {
      say(error, NOT_SIX_DIGITS)
      input.focus()
      return
    }
    try {
      await action(input.value)
    } catch (failure) {
      if (failure instanceof ApiError && failure.code === 'invalid_code') {
        throw new ApiError(failure.status, {
          ...failure.body,
          message: wrongCodeMessage(failure.body)
        })
      }
      throw failure
    }
  })
}

function openForm (section: HTMLElement, input: HTMLInputElement, errorId: string): void {
  input.value = ''
  unsay(byId(errorId))
  showOnly(sections, section, input)
}

function showCodes (recoveryCodes: string[], message: string): void {
  byId('recovery-banner').hidden = true
  for (const section of sections) section.hidden = true
  codesView.show(recoveryCodes, profile.email, () => {
    showOverview(message)
      .then(() => byId('twofa-heading').focus())
      .catch((error: unknown) => say(byId('page-error'), messageOf(error)))
  })
}

async function startEnrollment (): Promise<void> {
  const enrollment = await call<Enrollment>('/api/2fa/setup', { method: 'POST' })
  secret = enrollment.secret
  // As an image, the SVG runs nothing and needs no inline markup: only
  // `img-src data:` in the Content-Security-Policy.
  const qr = byId<HTMLImageElement>('qr')
  qr.src = `data:image/svg+xml;charset=utf-8,${encodeURIComponent(enrollment.qr_svg)}`
  byId('secret').textContent = groupsOfFour(enrollment.secret)
  byId<HTMLAnchorElement>('otpauth-link').href = enrollment.otpauth_url
  byId('enroll-minutes').textContent = String(Math.round(enrollment.expires_in / 60))
  byId('copy-secret-note').textContent = ''
  openForm(enroll, enrollCode, 'enroll-error')
  enroll.focus()
}

function wireButtons (): void {
  const pageError = byId('page-error')
  byId('turn-on').addEventListener('click', () => {
    unsay(pageError)
    startEnrollment().catch((error: unknown) => say(pageError, messageOf(error)))
  })
  byId('copy-secret').addEventListener('click', () => {
    copyText(secret, byId('secret')).then((said) => {
      byId('copy-secret-note').textContent = said === 'Copied.' ? 'Key copied.' : said
    })
  })
  byId('new-codes').addEventListener('click', () => {
    openForm(regenerate, regenerateCode, 'regenerate-error')
  })
  byId('banner-new-codes').addEventListener('click', () => {
    openForm(regenerate, regenerateCode, 'regenerate-error')
  })
  byId('turn-off').addEventListener('click', () => {
    openForm(disable, disableCode, 'disable-error')
  })
  for (const button of document.querySelectorAll('[data-cancel]')) {
    button.addEventListener('click', () => {
      showOverview().catch((error: unknown) => say(pageError, messageOf(error)))
    })
  }
}

function wireForms (): void {
  codeForm('enroll-form', enrollCode, 'enroll-error', async (code) => {
    const answer = await call<Codes>('/api/2fa/enable', { body: { totp_code: code } })
    showCodes(answer.recovery_codes, 'Two-factor authentication is on.')
  })
  codeForm('regenerate-form', regenerateCode, 'regenerate-error', async (code) => {
    const answer = await call<Codes>('/api/2fa/recovery-codes', { body: { totp_code: code } })
    showCodes(answer.recovery_codes, 'New recovery codes made. The old ones no longer work.')
  })
  codeForm('disable-form', disableCode, 'disable-error', async (code) => {
    await call('/api/2fa/disable', { body: { totp_code: code } })
    await showOverview('Two-factor authentication is off.')
  })
}

async function main (): Promise<void> {
  profile = await requireProfile()
  startLayout(profile)
  byId('profile-name').textContent = profile.name
  byId('profile-email').textContent = profile.email
  wireButtons()
  wireForms()
  await showOverview(undefined, false)
}

main().catch((error: unknown) => {
  byId('loading').hidden = true
  say(byId('page-error'), messageOf(error))
})
