import type { Redis } from 'ioredis'
import type { Inbox } from '@twofa/events'

/** Redeliveries come within minutes; a week is a wide margin. */
const RECORD_TTL_SECONDS = 7 * 24 * 3600

/** The consumer inbox in Redis: one expiring key per handled event. */
export class RedisInbox implements Inbox {
  constructor (private readonly redis: Redis) {}

  async seen (consumer: string, eventId: string): Promise<boolean> {
    return (await this.redis.exists(`inbox:${consumer}:${eventId}`)) === 1
  }

  async record (consumer: string, eventId: string): Promise<void> {
    await this.redis.set(`inbox:${consumer}:${eventId}`, '1', 'EX', RECORD_TTL_SECONDS)
  }
}
