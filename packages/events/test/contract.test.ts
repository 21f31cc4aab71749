import t from 'tap'
import {
  createEnvelope,
  EVENT_TYPES,
  parseEnvelope,
  type EventData,
  type EventType
} from '../src/contract.js'

/** One valid data object per event type: every type must survive the trip through JSON. */
const samples: { [T in EventType]: EventData<T> } = {
  'user.created': { user_id: 'u1', email: 'a@example.com' },
  'user.deleted': { user_id: 'u1' },
  'twofactor.enabled': { user_id: 'u1', factor_id: 'f1' },
  'twofactor.disabled': { user_id: 'u1', factor_id: 'f1', reason: 'admin', actor_id: 'admin-1' },
  'twofactor.recovery_codes.regenerated': { user_id: 'u1', count: 10 },
  'twofactor.verification.succeeded': { user_id: 'u1', method: 'totp', purpose: 'login' },
  'twofactor.verification.failed': {
    user_id: 'u1',
    method: 'recovery_code',
    purpose: 'disable',
    reason: 'replayed'
  },
  'twofactor.recovery_code.used': { user_id: 'u1', remaining: 9 },
  'twofactor.locked': { user_id: 'u1', until: '2030-01-01T00:00:00.000Z' },
  'user.admin_granted': { user_id: 'u1', created: true },
  'twofactor.unlocked': { user_id: 'u1', actor_id: 'ops' },
  'ops.key_rotated': { key_id: 'k2', resealed: 3, already_current: 2, skipped: 0, failed: 0 },
  'ops.dead_letters_replayed': { consumer: 'totp', replayed: 1, left: 0 }
}

function received (value: unknown): unknown {
  return JSON.parse(JSON.stringify(value))
}

t.test('an envelope gets a fresh id, its type, the time given and its data', async (t) => {
  const now = new Date('2024-05-01T12:00:00.000Z')

  const first = createEnvelope('user.deleted', { user_id: 'u1' }, now)
  const second = createEnvelope('user.deleted', { user_id: 'u1' }, now)

  t.match(first, {
    type: 'user.deleted',
    occurred_at: '2024-05-01T12:00:00.000Z',
    data: { user_id: 'u1' }
  })
  t.match(first.id, /^[0-9a-f-]{36}$/)
  t.not(first.id, second.id)
})

t.test('every event type a producer can create ' +
  'passes the consumer\'s check after JSON', async (t) => {
  t.same(Object.keys(samples).sort(), [...EVENT_TYPES].sort(), 'a sample for every type')

  for (const type of EVENT_TYPES) {
    const event = createEnvelope(type, samples[type])
    t.same(parseEnvelope(received(event)), event, type)
  }
})

t.test('a message that is not an envelope of a known type is refused', async (t) => {
  const valid = createEnvelope('user.deleted', { user_id: 'u1' })
  const refused: Array<[string, unknown]> = [
    ['null', null],
    ['a string', 'user.deleted'],
    ['an array', [valid]],
    ['an unknown type', { ...valid, type: 'user.exploded' }],
    ['no id', { ...valid, id: undefined }],
    ['an empty id', { ...valid, id: '' }],
    ['an overlong id', { ...valid, id: 'x'.repeat(101) }],
    ['a time that is not ISO 8601', { ...valid, occurred_at: 'Wed, 01 May 2024 12:00:00 GMT' }],
    ['no data', { ...valid, data: undefined }]
  ]

  for (const [what, message] of refused) t.equal(parseEnvelope(received(message)), null, what)
})

t.test('data that does not match its type\'s schema is refused', async (t) => {
  const refused: Array<[string, unknown]> = [
    ['a missing field', { user_id: 'u1' }],
    ['a number for a string', { user_id: 1, email: 'a@example.com' }],
    ['a value outside an enum', { user_id: 'u1', factor_id: 'f1', reason: 'bored', actor_id: null }]
  ]
  const types: EventType[] = ['user.created', 'user.created', 'twofactor.disabled']

  refused.forEach(([what, data], index) => {
    const message = {
      ...createEnvelope('user.deleted', { user_id: 'u1' }),
      type: types[index],
      data
    }
    t.equal(parseEnvelope(received(message)), null, what)
  })
})

t.test('fields the contract does not list are dropped', async (t) => {
  const event = createEnvelope('user.deleted', { user_id: 'u1' })

  const parsed = parseEnvelope({
    ...received(event) as object,
    routing: 'x',
    data: { user_id: 'u1', is_admin: true }
  })

  t.same(parsed, event)
})

t.test('K19 a __proto__ key in a message changes no prototype', async (t) => {
  const event = createEnvelope('user.deleted', { user_id: 'u1' })
  const body = JSON.stringify(event).replace('"user_id"', '"__proto__":{"is_admin":true},"user_id"')

  const parsed = parseEnvelope(JSON.parse(body))

  t.same(parsed, event)
  t.equal((parsed?.data as Record<string, unknown>).is_admin, undefined)
  t.equal(({} as Record<string, unknown>).is_admin, undefined)
})
