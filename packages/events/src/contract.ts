import { randomUUID } from 'node:crypto'
import { z } from 'zod'

/**
 * The events the services exchange. This file is the whole contract: a
 * producer can only publish, and a consumer only receives, what is listed
 * here, with the data shape given here.
 */
export const eventSchemas = {
  'user.created': z.object({ user_id: z.string(), email: z.string() }),
  'user.deleted': z.object({ user_id: z.string() }),
  'twofactor.enabled': z.object({ user_id: z.string(), factor_id: z.string() }),
  'twofactor.disabled': z.object({
    user_id: z.string(),
    factor_id: z.string(),
    /** `user` from their own settings, `admin` for an account recovery, `user_deleted`. */
    reason: z.enum(['user', 'admin', 'user_deleted']),
    actor_id: z.string().nullable()
  }),
  'twofactor.recovery_codes.regenerated': z.object({ user_id: z.string(), count: z.number() }),
  'twofactor.verification.succeeded': z.object({
    user_id: z.string(),
    method: z.enum(['totp', 'recovery_code']),
    purpose: z.enum(['login', 'enable', 'disable', 'regenerate'])
  }),
  'twofactor.verification.failed': z.object({
    user_id: z.string(),
    method: z.enum(['totp', 'recovery_code']),
    purpose: z.enum(['login', 'enable', 'disable', 'regenerate']),
    reason: z.enum(['invalid_code', 'replayed'])
  }),
  'twofactor.recovery_code.used': z.object({ user_id: z.string(), remaining: z.number() }),
  'twofactor.locked': z.object({ user_id: z.string(), until: z.string() }),

  // From the ops command line. A change to one user or factor is named after
  // it (`user.*`, `twofactor.*`); work on the system itself is `ops.*`.
  'user.admin_granted': z.object({
    user_id: z.string(),
    /** True when the account was created for this, false when it existed. */
    created: z.boolean()
  }),
  'twofactor.unlocked': z.object({
    user_id: z.string(),
    /** `ops` for the ops command line. */
    actor_id: z.string().nullable()
  }),
  'ops.key_rotated': z.object({
    /** The key id every stored secret should now be sealed with. */
    key_id: z.string(),
    resealed: z.number(),
    already_current: z.number(),
    /** Factors removed or replaced while the run went over them. */
    skipped: z.number(),
    /** Secrets no configured key opens; they stay as they were. */
    failed: z.number()
  }),
  'ops.dead_letters_replayed': z.object({
    consumer: z.string(),
    replayed: z.number(),
    /** Messages still in the dead-letter queue afterwards. */
    left: z.number()
  })
} as const

export type EventType = keyof typeof eventSchemas
export type EventData<T extends EventType> = z.infer<(typeof eventSchemas)[T]>

export const EVENT_TYPES = Object.keys(eventSchemas) as EventType[]

/** Every message on the bus is one envelope; `id` is what consumers deduplicate on. */
export interface Envelope<T extends EventType = EventType> {
  id: string
  type: T
  occurred_at: string
  data: EventData<T>
}

export function createEnvelope<T extends EventType> (
  type: T,
  data: EventData<T>,
  now: Date = new Date()
): Envelope<T> {
  return { id: randomUUID(), type, occurred_at: now.toISOString(), data }
}

const envelopeShape = z.object({
  id: z.string().min(1).max(100),
  type: z.enum(EVENT_TYPES as [EventType, ...EventType[]]),
  occurred_at: z.iso.datetime(),
  data: z.unknown()
})

/**
 * Checks a message received from the bus. A message that does not match the
 * contract is returned as null; the consumer dead-letters it.
 */
export function parseEnvelope (raw: unknown): Envelope | null {
  const shape = envelopeShape.safeParse(raw)
  if (!shape.success) return null

  const data = eventSchemas[shape.data.type].safeParse(shape.data.data)
  if (!data.success) return null

  return { ...shape.data, data: data.data } as Envelope
}
