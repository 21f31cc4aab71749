import type { Logger } from 'pino'
import { once, type EventBus, type Inbox } from '@twofa/events'
import type { Users } from '../domain/users.js'

export const CONSUMER = 'user'

/**
 * The user service keeps `two_factor_enabled` on the profile from the totp
 * service's events. The flag is for display and listing only: whether a
 * login needs a second step is always asked of the totp service directly.
 */
export async function subscribeConsumers (
  bus: EventBus,
  inbox: Inbox,
  users: Users,
  log: Logger
): Promise<void> {
  await bus.subscribe({
    consumer: CONSUMER,
    types: ['twofactor.enabled', 'twofactor.disabled'],
    handler: once(inbox, CONSUMER, async (event) => {
      const { user_id: userId } = event.data as { user_id: string }
      const enabled = event.type === 'twofactor.enabled'
      const applied = await users.applyTwoFactorChange(userId, enabled, new Date(event.occurred_at))
      log.info(
        { event_id: event.id, event_type: event.type, user_id: userId, applied },
        'profile 2fa flag updated'
      )
    })
  })
}
