import { expectStatus, type Transport } from '@twofa/kit'

export interface Account {
  id: string
  email: string
  name: string
  roles: string[]
}

/** The user service's internal API, as the auth service needs it. */
export function createUserClient (transport: Transport) {
  return {
    /** The account when the password is right; null otherwise. */
    async verifyCredentials (
      email: string,
      password: string,
      requestId: string
    ): Promise<Account | null> {
      const response = await transport({
        method: 'POST',
        path: '/internal/credentials/verify',
        body: { email, password },
        requestId
      })
      expectStatus(response, 200, 401)
      return response.status === 200 ? (response.body as { user: Account }).user : null
    },

    /** The account as it is now, or null when it no longer exists. */
    async find (userId: string, requestId: string): Promise<Account | null> {
      const response = await transport({
        method: 'GET',
        path: `/internal/users/${encodeURIComponent(userId)}`,
        requestId
      })
      expectStatus(response, 200, 404)
      return response.status === 200 ? response.body as Account : null
    }
  }
}

export type UserClient = ReturnType<typeof createUserClient>
