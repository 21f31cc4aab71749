/** How much each part of a bench run does. */
export interface Plan {
  mode: 'short' | 'full'
  /** Accounts with 2FA for the main sign-in runs of each start. */
  accounts: number
  /** Password sign-ins in the login run; memory is read after them. */
  logins: number
  /** Verifications in the peak pass, and again in the half-rate pass. */
  verifies: number
  /** Verifications before a measured pass, so the figures are of warm code. */
  warmup: number
  /**
   * Users stored for the two growth points. Each signs in the `small` newest
   * accounts and verifies them, less a warm-up, so neither waits for a new
   * step to reuse an account.
   */
  growth: { small: number, big: number }
  /** Length of the runs measured by time: floors, token-checked reads, raw argon2id. */
  seconds: number
  connections: { login: number, verify: number, halfRate: number, read: number }
}

/**
 * The full mode takes about half an hour (seeding 100,000 accounts is a
 * third of it) and gives the figures of RESULTS.md; the short mode takes
 * about a minute and is what CI runs.
 */
export function planFor (mode: 'short' | 'full'): Plan {
  const connections = { login: 8, verify: 16, halfRate: 4, read: 16 }
  if (mode === 'short') {
    return {
      mode,
      accounts: 240,
      logins: 240,
      verifies: 80,
      warmup: 20,
      growth: { small: 60, big: 1000 },
      seconds: 2,
      connections
    }
  }
  return {
    mode,
    accounts: 3000,
    logins: 10_000,
    verifies: 2800,
    warmup: 200,
    growth: { small: 1000, big: 100_000 },
    seconds: 10,
    connections
  }
}
