import type { Test } from 'tap'
import type { Inbox } from '@twofa/events'

/** What the contract runs against: the in-memory inbox or a real adapter. */
export interface InboxSubject {
  /** An empty inbox for one test. */
  open: () => Promise<Inbox>
}

/** The behaviour every Inbox must have for event handlers to run once per event. */
export function inboxContract (t: Test, subject: InboxSubject): void {
  t.test('seen is false for an event nobody recorded', async (t) => {
    const inbox = await subject.open()

    t.equal(await inbox.seen('user-service', 'event-1'), false)
  })

  t.test('seen is true once the event is recorded', async (t) => {
    const inbox = await subject.open()

    await inbox.record('user-service', 'event-1')

    t.equal(await inbox.seen('user-service', 'event-1'), true)
  })

  t.test('recording the same event twice is not an error', async (t) => {
    const inbox = await subject.open()
    await inbox.record('user-service', 'event-1')

    await t.resolves(inbox.record('user-service', 'event-1'))

    t.equal(await inbox.seen('user-service', 'event-1'), true)
  })

  t.test('an event one consumer recorded is not seen by another', async (t) => {
    const inbox = await subject.open()

    await inbox.record('user-service', 'event-1')

    t.equal(await inbox.seen('audit', 'event-1'), false)
  })
}
