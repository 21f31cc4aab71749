import { call, messageOf } from '../api.js'
import { showRefusal } from '../admin.js'
import { byId, say } from '../dom.js'
import { startLayout } from '../layout.js'
import { requireProfile, type Profile } from '../session.js'

interface UserPage {
  users: Profile[]
  next_offset: number | null
}

function entry (user: Profile): HTMLLIElement {
  const item = document.createElement('li')
  const link = document.createElement('a')
  link.href = `/admin/user/?id=${encodeURIComponent(user.id)}`
  link.textContent = user.email
  const details = document.createElement('span')
  details.textContent = `${user.name} · 2FA ${user.two_factor_enabled ? 'on' : 'off'}`
  item.append(link, details)
  return item
}

/** The list, searched by the start of the email, a page at a time. */
async function main (): Promise<void> {
  const profile = await requireProfile()
  startLayout(profile)
  if (showRefusal(profile)) return

  const query = new URLSearchParams(window.location.search)
  const email = query.get('email') ?? ''
  const offset = query.get('offset') ?? '0'
  byId<HTMLInputElement>('search-email').value = email

  let page: UserPage
  try {
    const search = new URLSearchParams({ email, offset })
    page = await call<UserPage>(`/api/admin/users?${search.toString()}`)
  } catch (error) {
    if (showRefusal(profile, error)) return
    throw error
  }

  byId('user-list').replaceChildren(...page.users.map(entry))
  const found = page.users.length === 0
    ? 'No users found.'
    : `${page.users.length} ${page.users.length === 1 ? 'user' : 'users'} shown.`
  byId('result-count').textContent = email ? `${found} Search: "${email}".` : found
  const next = byId<HTMLAnchorElement>('next-page')
  if (page.next_offset !== null) {
    next.href = `?${new URLSearchParams({ email, offset: String(page.next_offset) }).toString()}`
    next.hidden = false
  }
  byId('loading').hidden = true
  byId('users').hidden = false
}

main().catch((error: unknown) => {
  byId('loading').hidden = true
  say(byId('page-error'), messageOf(error))
})
