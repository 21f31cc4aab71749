import { ApiError, call, messageOf } from '../api.js'
import { showRefusal } from '../admin.js'
import { byId, say, unsay } from '../dom.js'
import { dateOf, startLayout } from '../layout.js'
import { requireProfile, type Profile } from '../session.js'

const dialog = byId<HTMLDialogElement>('confirm')
const note = byId('user-note')

function showTwoFactor (on: boolean): void {
  const state = byId('user-2fa')
  state.textContent = on ? 'On' : 'Off'
  state.className = on ? 'status-on' : 'status-off'
  byId('user-2fa-actions').hidden = !on
}

function showUser (user: Profile): void {
  document.title = `${user.email} · twofa`
  byId('user-email').textContent = user.email
  byId('user-name').textContent = user.name
  byId('user-roles').textContent = user.roles.join(', ')
  byId('user-created').textContent = dateOf(user.created_at)
  showTwoFactor(user.two_factor_enabled)
  byId('loading').hidden = true
  byId('user').hidden = false
}

/** "Turn off 2FA" asks first, naming the user, with Cancel focused. */
function wireTurnOff (user: Profile): void {
  const error = byId('confirm-error')
  byId('confirm-title').textContent = `Turn off 2FA for ${user.email}?`
  byId('confirm-text').textContent = `${user.email} will then sign in with their password ` +
    'only, and their recovery codes stop working, until they turn 2FA on again.'
  byId('confirm-yes').textContent = `Turn off 2FA for ${user.email}`

  byId('admin-turn-off').addEventListener('click', () => {
    unsay(error)
    dialog.showModal()
  })
  byId('confirm-cancel').addEventListener('click', () => dialog.close())
  byId('confirm-yes').addEventListener('click', () => {
    const path = `/api/admin/users/${encodeURIComponent(user.id)}/2fa`
    call(path, { method: 'DELETE' })
      .then(() => `Two-factor authentication is now off for ${user.email}.`, (failure) => {
        if (failure instanceof ApiError && failure.code === 'not_enabled') {
          return `Two-factor authentication was already off for ${user.email}.`
        }
        throw failure
      })
      .then((message) => {
        dialog.close()
        showTwoFactor(false)
        say(note, message)
        byId('user-2fa-heading').focus()
      })
      .catch((failure: unknown) => say(error, messageOf(failure)))
  })
}

async function main (): Promise<void> {
  const profile = await requireProfile()
  startLayout(profile)
  if (showRefusal(profile)) return

  const id = new URLSearchParams(window.location.search).get('id') ?? ''
  let user: Profile
  try {
    user = await call<Profile>(`/api/admin/users/${encodeURIComponent(id)}`)
  } catch (error) {
    if (showRefusal(profile, error)) return
    throw error
  }
  showUser(user)
  wireTurnOff(user)
}

main().catch((error: unknown) => {
  byId('loading').hidden = true
  say(byId('page-error'), messageOf(error))
})
