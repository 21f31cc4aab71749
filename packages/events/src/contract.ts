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
  'twofactor.locked': z.object({ user_id: z.string(), until: z.string() })
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
