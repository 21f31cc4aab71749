import type { Test } from 'tap'
import type { EventBus } from '../src/bus.js'
import { createEnvelope, type Envelope } from '../src/contract.js'

/** What the contract suite needs from a bus beyond the EventBus interface. */
export interface BusHarness {
  /** Opens a fresh bus for one test and removes it, with all it declared, when the test ends. */
  open: (t: Test) => Promise<EventBus>
  /** Puts a message on the bus as a producer that ignores the contract would; routed by `type`. */
  publishRaw: (bus: EventBus, message: { type: string } & Record<string, unknown>) => Promise<void>
  /** The messages dead-lettered for a consumer so far, oldest first. */
  deadLetters: (bus: EventBus, consumer: string) => Promise<unknown[]>
}

/**
 * Waits until `condition` holds. A bus delivers asynchronously, so tests wait
 * for what they expect instead of sleeping; the limit only turns a hang into
 * a failure that says what was awaited.
 */
export async function waitFor (
  what: string,
  condition: () => boolean | Promise<boolean>,
  limitMs = 10_000
): Promise<void> {
  const deadline = Date.now() + limitMs
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`gave up waiting: ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}

/** Records what a handler was given, and can be told to fail. */
export function recorder (fail: (event: Envelope, attempt: number) => boolean = () => false) {
  const received: Envelope[] = []
  const attempts = new Map<string, number>()

  return {
    received,
    attempts,
    handler: async (event: Envelope) => {
      const attempt = (attempts.get(event.id) ?? 0) + 1
      attempts.set(event.id, attempt)
      if (fail(event, attempt)) throw new Error(`handler failed on attempt ${attempt}`)
      received.push(event)
    }
  }
}

function userCreated (n = 1): Envelope<'user.created'> {
  return createEnvelope('user.created', { user_id: `u${n}`, email: `u${n}@example.com` })
}

/** The promises every EventBus keeps, whichever broker is behind it. */
export function busContract (t: Test, harness: BusHarness): void {
  t.test('an event reaches its subscriber as it was published', async (t) => {
    const bus = await harness.open(t)
    const audit = recorder()
    await bus.subscribe({ consumer: 'audit', types: ['user.created'], handler: audit.handler })
    const event = userCreated()

    await bus.publish(event)
    await waitFor('the event', () => audit.received.length === 1)

    t.same(audit.received[0], event)
  })

  t.test('a subscriber gets only the types it subscribed to', async (t) => {
    const bus = await harness.open(t)
    const audit = recorder()
    await bus.subscribe({ consumer: 'audit', types: ['user.created'], handler: audit.handler })

    await bus.publish(createEnvelope('user.deleted', { user_id: 'u1' }))
    await bus.publish(userCreated())
    // Delivery is in order, so once the second event is in, the first would have been.
    await waitFor('the subscribed event', () => audit.received.length === 1)

    t.same(audit.received.map((event) => event.type), ['user.created'])
  })

  t.test('a subscription to several types gets each of them', async (t) => {
    const bus = await harness.open(t)
    const audit = recorder()
    await bus.subscribe({
      consumer: 'audit',
      types: ['user.created', 'user.deleted'],
      handler: audit.handler
    })

    await bus.publish(userCreated())
    await bus.publish(createEnvelope('user.deleted', { user_id: 'u1' }))
    await waitFor('both events', () => audit.received.length === 2)

    t.same(audit.received.map((event) => event.type), ['user.created', 'user.deleted'])
  })

  t.test('two consumers each get their own copy', async (t) => {
    const bus = await harness.open(t)
    const mailer = recorder()
    const audit = recorder()
    await bus.subscribe({ consumer: 'mailer', types: ['user.created'], handler: mailer.handler })
    await bus.subscribe({ consumer: 'audit', types: ['user.created'], handler: audit.handler })
    const event = userCreated()

    await bus.publish(event)
    await waitFor('both copies', () => mailer.received.length === 1 && audit.received.length === 1)

    t.same(mailer.received, [event])
    t.same(audit.received, [event])
    t.not(mailer.received[0], audit.received[0], 'not one shared object')
  })

  t.test('what one consumer does to its copy the other does not see', async (t) => {
    const bus = await harness.open(t)
    const seen: string[] = []
    await bus.subscribe({
      consumer: 'vandal',
      types: ['user.created'],
      handler: async (event) => { (event.data as { email: string }).email = 'changed@example.com' }
    })
    await bus.subscribe({
      consumer: 'reader',
      types: ['user.created'],
      handler: async (event) => { seen.push((event.data as { email: string }).email) }
    })

    await bus.publish(userCreated())
    await waitFor('the reader', () => seen.length === 1)

    t.same(seen, ['u1@example.com'])
  })

  t.test('events reach a consumer in the order they were published', async (t) => {
    const bus = await harness.open(t)
    const audit = recorder()
    await bus.subscribe({ consumer: 'audit', types: ['user.created'], handler: audit.handler })
    const events = [1, 2, 3, 4, 5].map(userCreated)

    for (const event of events) await bus.publish(event)
    await waitFor('five events', () => audit.received.length === 5)

    t.same(audit.received.map((event) => event.id), events.map((event) => event.id))
  })

  t.test('a handler that throws is tried once more, then the event is dead-lettered', async (t) => {
    const bus = await harness.open(t)
    const failing = recorder(() => true)
    await bus.subscribe({ consumer: 'failing', types: ['user.created'], handler: failing.handler })
    const event = userCreated()

    await bus.publish(event)
    await waitFor('a dead letter', async () =>
      (await harness.deadLetters(bus, 'failing')).length === 1)

    t.equal(failing.attempts.get(event.id), 2)
    t.match(await harness.deadLetters(bus, 'failing'), [{ id: event.id, type: 'user.created' }])
  })

  t.test('a handler that fails once ' +
    'and then succeeds does not dead-letter the event', async (t) => {
    const bus = await harness.open(t)
    const flaky = recorder((_event, attempt) => attempt === 1)
    await bus.subscribe({ consumer: 'flaky', types: ['user.created'], handler: flaky.handler })
    const event = userCreated()

    await bus.publish(event)
    await waitFor('the second attempt', () => flaky.received.length === 1)

    t.equal(flaky.attempts.get(event.id), 2)
    t.same(await harness.deadLetters(bus, 'flaky'), [])
  })

  t.test('a consumer whose handler fails does not hold back another consumer', async (t) => {
    const bus = await harness.open(t)
    const failing = recorder(() => true)
    const audit = recorder()
    await bus.subscribe({ consumer: 'failing', types: ['user.created'], handler: failing.handler })
    await bus.subscribe({ consumer: 'audit', types: ['user.created'], handler: audit.handler })

    await bus.publish(userCreated())
    await waitFor('the dead letter', async () =>
      (await harness.deadLetters(bus, 'failing')).length === 1)
    await waitFor('the healthy consumer', () => audit.received.length === 1)

    t.same(await harness.deadLetters(bus, 'audit'), [])
  })

  t.test('a message that does not match the contract is dead-lettered, not handled', async (t) => {
    const bus = await harness.open(t)
    const audit = recorder()
    await bus.subscribe({ consumer: 'audit', types: ['user.created'], handler: audit.handler })
    const valid = userCreated()
    const broken = [
      { ...valid, id: 'missing-email', data: { user_id: 'u1' } },
      { ...valid, id: 'wrong-type', data: { user_id: 42, email: 'u1@example.com' } },
      { ...valid, id: 'bad-date', occurred_at: 'yesterday' },
      { type: 'user.created', occurred_at: valid.occurred_at, data: valid.data }
    ]

    for (const message of broken) await harness.publishRaw(bus, message)
    await bus.publish(valid)
    await waitFor('the valid event', () => audit.received.some((event) => event.id === valid.id))
    await waitFor('four dead letters', async () =>
      (await harness.deadLetters(bus, 'audit')).length === 4)

    t.same(audit.received.map((event) => event.id), [valid.id])
    t.same(audit.attempts.size, 1, 'the handler never saw the others')
    t.match(await harness.deadLetters(bus, 'audit'), [
      { id: 'missing-email' }, { id: 'wrong-type' }, { id: 'bad-date' }, { type: 'user.created' }
    ])
  })

  t.test('a data field the contract does not list does not reach the handler', async (t) => {
    const bus = await harness.open(t)
    const audit = recorder()
    await bus.subscribe({ consumer: 'audit', types: ['user.created'], handler: audit.handler })
    const valid = userCreated()

    await harness.publishRaw(bus, { ...valid, data: { ...valid.data, is_admin: true }, extra: 'x' })
    await waitFor('the event', () => audit.received.length === 1)

    t.same(audit.received[0], valid)
  })

  t.test('a bus is ready while open, and refuses to publish once closed', async (t) => {
    const bus = await harness.open(t)
    t.ok(bus.isReady())

    await bus.close()

    t.notOk(bus.isReady())
    await t.rejects(bus.publish(userCreated()))
  })
}
