import { outboxRecord, type Envelope, type OutboxEntry, type OutboxSource } from '@twofa/events'

export type Role = 'user' | 'admin'

export interface User {
  id: string
  /** As the user typed it, NFKC-normalised and trimmed (domain/emails.ts). */
  email: string
  /** Lower-cased: what uniqueness and look-ups use, so emails compare case-insensitively. */
  emailKey: string
  name: string
  passwordHash: string
  roles: Role[]
  twoFactorEnabled: boolean
  /** When the 2FA flag last changed, from the event; older events are ignored. */
  twoFactorChangedAt: Date | null
  createdAt: Date
}

export interface UserPage {
  users: User[]
  nextOffset: number | null
}

export interface UserQuery {
  /** Matches emails that start with this (case-insensitive). */
  emailPrefix?: string
  offset: number
  limit: number
}

/**
 * Where profiles and credentials live. Every write is one single-document
 * operation; a change others must hear about stores its event in the same
 * write (the outbox), and the relay publishes it later.
 */
export interface UserStore extends OutboxSource {
  /** Creates the user; `email_taken` when another user has the same email in any case. */
  create: (user: User, event: Envelope) => Promise<'created' | 'email_taken'>
  findById: (id: string) => Promise<User | null>
  findByEmail: (email: string) => Promise<User | null>
  list: (query: UserQuery) => Promise<UserPage>
  /** Applies a 2FA change unless a later one was applied already; true when applied. */
  setTwoFactor: (id: string, enabled: boolean, changedAt: Date) => Promise<boolean>
  addRole: (id: string, role: Role) => Promise<void>
  /**
   * Deletes the user: gone at once for every read, and the email free again.
   * The record stays until its outbox is empty.
   */
  delete: (id: string, event: Envelope) => Promise<boolean>
  ping: () => Promise<void>
  close: () => Promise<void>
}

/** What a deleted user's email key becomes, so the address can be used again. */
export function deletedKeyOf (id: string): string {
  return `deleted:${id}`
}

export function emailKeyOf (email: string): string {
  return email.normalize('NFKC').trim().toLowerCase()
}

/** The in-memory user store, for the one-process quick start. */
export class MemoryUserStore implements UserStore {
  private readonly users = new Map<string, User>()
  private readonly byEmail = new Map<string, string>()
  private readonly outboxes = new Map<string, string[]>()

  async create (user: User, event: Envelope): Promise<'created' | 'email_taken'> {
    if (this.byEmail.has(user.emailKey)) return 'email_taken'
    this.users.set(user.id, structuredClone(user))
    this.byEmail.set(user.emailKey, user.id)
    this.record(user.id, event)
    return 'created'
  }

  async findById (id: string): Promise<User | null> {
    const user = this.users.get(id)
    return user ? structuredClone(user) : null
  }

  async findByEmail (email: string): Promise<User | null> {
    const id = this.byEmail.get(emailKeyOf(email))
    return id ? await this.findById(id) : null
  }

  async list (query: UserQuery): Promise<UserPage> {
    const prefix = query.emailPrefix ? emailKeyOf(query.emailPrefix) : ''
    const matching = [...this.users.values()]
      .filter((user) => user.emailKey.startsWith(prefix))
      .sort((a, b) => a.emailKey < b.emailKey ? -1 : 1)
    const users = matching
      .slice(query.offset, query.offset + query.limit)
      .map((user) => structuredClone(user))
    const next = query.offset + query.limit
    return { users, nextOffset: next < matching.length ? next : null }
  }

  async setTwoFactor (id: string, enabled: boolean, changedAt: Date): Promise<boolean> {
    const user = this.users.get(id)
    if (!user) return false
    if (user.twoFactorChangedAt && user.twoFactorChangedAt >= changedAt) return false
    user.twoFactorEnabled = enabled
    user.twoFactorChangedAt = changedAt
    return true
  }

  async addRole (id: string, role: Role): Promise<void> {
    const user = this.users.get(id)
    if (user && !user.roles.includes(role)) user.roles.push(role)
  }

  async delete (id: string, event: Envelope): Promise<boolean> {
    const user = this.users.get(id)
    if (!user) return false
    this.users.delete(id)
    this.byEmail.delete(user.emailKey)
    this.record(id, event)
    return true
  }

  async pending (limit: number): Promise<OutboxEntry[]> {
    const entries: OutboxEntry[] = []
    for (const [owner, outbox] of this.outboxes) {
      for (const raw of outbox) entries.push({ owner, raw })
    }
    return entries.slice(0, limit)
  }

  async done (entry: OutboxEntry): Promise<void> {
    const left = (this.outboxes.get(entry.owner) ?? []).filter((raw) => raw !== entry.raw)
    if (left.length > 0) this.outboxes.set(entry.owner, left)
    else this.outboxes.delete(entry.owner)
  }

  async ping (): Promise<void> {}
  async close (): Promise<void> {}

  private record (owner: string, event: Envelope): void {
    this.outboxes.set(owner, [...(this.outboxes.get(owner) ?? []), outboxRecord(event)])
  }
}
