import { call } from '../api.js'
import { byId, field, go, onSubmit } from '../dom.js'

/** Sign-up, then a sign-in with the same password, so the person lands in their settings. */
onSubmit(byId<HTMLFormElement>('register-form'), {
  error: byId('register-error')
}, async (data) => {
  const email = field(data, 'email')
  const password = String(data.get('password') ?? '')
  await call('/api/users', { body: { name: field(data, 'name'), email, password } })
  await call('/api/sso/token', { body: { email, password } })
  await go('/security/')
})
