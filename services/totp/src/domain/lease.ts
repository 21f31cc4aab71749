import { commonErrors } from '@twofa/kit'
import type { OutboxSource } from '@twofa/events'
import type { VolatileStore } from '../store/volatile.js'

/** Longer than any read-check-write on a factor; a crashed holder frees it after this. */
const LEASE_TTL_MS = 5000
/** How long a caller waits for the lease before answering 503. */
const WAIT_MS = 3000

async function pause (ms: number): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, ms))
}

/**
 * Runs `work` while holding the account's lease, so read-check-write
 * sequences on one factor (using a recovery code, turning 2FA off, new
 * codes) happen one at a time across every replica. The document store is
 * then never asked to arbitrate concurrent updates of one document, which
 * MongoDB does atomically and FerretDB 1.x does not.
 */
export async function withLease<T> (
  state: VolatileStore,
  userId: string,
  work: () => Promise<T>
): Promise<T> {
  const deadline = Date.now() + WAIT_MS
  let token = await state.acquireLease(userId, LEASE_TTL_MS)

  while (token === null) {
    if (Date.now() > deadline) {
      throw commonErrors.dependency_unavailable({
        message: 'This account is being changed by another request; try again.',
        extra: { retry_after: 1 }
      })
    }
    await pause(10 + Math.random() * 20)
    token = await state.acquireLease(userId, LEASE_TTL_MS)
  }

  try {
    return await work()
  } finally {
    await state.releaseLease(userId, token)
  }
}

/**
 * The outbox of the factor store, with each removal of a published event
 * done under its account's lease. That removal rewrites the account's
 * document too, and on FerretDB 1.x an update racing with a change of the
 * same document can write the old factor back: an admin's "2FA off" was
 * seen undone that way.
 */
export function leasedOutbox (source: OutboxSource, state: VolatileStore): OutboxSource {
  return {
    pending: async (limit) => await source.pending(limit),
    done: async (entry) => {
      await withLease(state, entry.owner, async () => { await source.done(entry) })
    }
  }
}
