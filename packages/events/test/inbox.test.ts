import t from 'tap'
import { createEnvelope, type Envelope } from '../src/contract.js'
import { MemoryInbox, once } from '../src/inbox.js'

function userDeleted (): Envelope<'user.deleted'> {
  return createEnvelope('user.deleted', { user_id: 'u1' })
}

/** A handler with a side effect the test can count, that yields like real I/O does. */
function counting (fail = false) {
  const effects: string[] = []
  return {
    effects,
    handler: async (event: Envelope) => {
      await new Promise((resolve) => setImmediate(resolve))
      if (fail) throw new Error('store unavailable')
      effects.push(event.id)
    }
  }
}

t.test('an event is handled the first time it arrives and recorded afterwards', async (t) => {
  const inbox = new MemoryInbox()
  const side = counting()
  const event = userDeleted()

  await once(inbox, 'totp', side.handler)(event)

  t.same(side.effects, [event.id])
  t.ok(await inbox.seen('totp', event.id))
})

t.test('K23 the same event arriving again is not handled again', async (t) => {
  const side = counting()
  const handle = once(new MemoryInbox(), 'totp', side.handler)
  const event = userDeleted()

  await handle(event)
  await handle(structuredClone(event))

  t.same(side.effects, [event.id])
})

t.test('K23 two copies of one event delivered at the same time are handled once', async (t) => {
  const side = counting()
  const handle = once(new MemoryInbox(), 'totp', side.handler)
  const event = userDeleted()

  await Promise.all([handle(event), handle(structuredClone(event)), handle(structuredClone(event))])

  t.same(side.effects, [event.id])
})

t.test('a handler that fails is not recorded, so the redelivery runs it again', async (t) => {
  const inbox = new MemoryInbox()
  const event = userDeleted()

  await t.rejects(once(inbox, 'totp', counting(true).handler)(event), /store unavailable/)
  const side = counting()
  await once(inbox, 'totp', side.handler)(event)

  t.same(side.effects, [event.id])
})

t.test('a copy waiting on a first attempt that fails gets its own attempt', async (t) => {
  let calls = 0
  const handle = once(new MemoryInbox(), 'totp', async () => {
    calls++
    await new Promise((resolve) => setImmediate(resolve))
    if (calls === 1) throw new Error('first attempt fails')
  })
  const event = userDeleted()

  const [first, second] = await Promise.allSettled([handle(event), handle(structuredClone(event))])

  t.equal(first.status, 'rejected')
  t.equal(second.status, 'fulfilled')
  t.equal(calls, 2)
})

t.test('each consumer keeps its own record of an event', async (t) => {
  const inbox = new MemoryInbox()
  const totp = counting()
  const user = counting()
  const event = userDeleted()

  await once(inbox, 'totp', totp.handler)(event)
  await once(inbox, 'user', user.handler)(event)

  t.same(totp.effects, [event.id])
  t.same(user.effects, [event.id])
})

t.test('the in-memory inbox forgets the oldest records beyond its capacity', async (t) => {
  const inbox = new MemoryInbox(2)

  await inbox.record('c', 'e1')
  await inbox.record('c', 'e2')
  await inbox.record('c', 'e3')

  t.notOk(await inbox.seen('c', 'e1'))
  t.ok(await inbox.seen('c', 'e2'))
  t.ok(await inbox.seen('c', 'e3'))
})
