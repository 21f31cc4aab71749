import type { Logger } from 'pino'
import { once, type EventBus, type Inbox } from '@twofa/events'
import type { TwoFactor } from '../domain/two-factor.js'

export const CONSUMER = 'totp'

/** The totp service listens for deleted users and removes their factor. */
export async function subscribeConsumers (
  bus: EventBus,
  inbox: Inbox,
  twoFactor: TwoFactor,
  log: Logger
): Promise<void> {
  await bus.subscribe({
    consumer: CONSUMER,
    types: ['user.deleted'],
    handler: once(inbox, CONSUMER, async (event) => {
      if (event.type !== 'user.deleted') return
      const data = event.data as { user_id: string }
      await twoFactor.removeForDeletedUser(data.user_id, log.child({ event_id: event.id }))
    })
  })
}
