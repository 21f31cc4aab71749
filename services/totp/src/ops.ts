import type { Logger } from 'pino'
import {
  announcer,
  busSettingsOf,
  describeUrl,
  exitWith,
  httpTransport,
  replayCommand,
  runOps,
  UsageError,
  type OpsArgs,
  type OpsBase,
  type OpsCommand
} from '@twofa/kit'
import { connectTotpBackends, type TotpBackends } from './backends.js'
import { keyRingOf, loadTotpConfig, type TotpConfig } from './config.js'
import { resealSecrets, type RotationTally } from './domain/key-rotation.js'
import { SecretBox } from './domain/secret-box.js'
import { CONSUMER } from './events/consumers.js'
import { createTotpService, type TotpService } from './service.js'

/** Who the events of the ops command line name as the actor. */
const OPS_ACTOR = 'ops'

interface TotpOps extends OpsBase {
  config: TotpConfig
  backends: TotpBackends
  service: TotpService
}

async function open (
  config: TotpConfig,
  log: Logger
): Promise<TotpOps & { close: () => Promise<void> }> {
  const backends = await connectTotpBackends(config, log)
  const service = await createTotpService(config, log, backends)

  return {
    config,
    log,
    backends,
    service,
    amqp: busSettingsOf(config),
    announce: announcer(backends.bus, log),
    // Relays what the domain stored in the outbox (twofactor.disabled), then disconnects.
    close: async () => await service.close()
  }
}

/** The user an option names: `--user-id` as is, `--email` through the user service. */
async function userIdFrom (ops: TotpOps, args: OpsArgs): Promise<string> {
  const id = args.get('user-id')
  const email = args.get('email')
  if ((id === undefined) === (email === undefined)) {
    throw new UsageError('give either --email or --user-id')
  }
  if (id !== undefined) return id
  return await userIdByEmail(ops.config, email as string)
}

/** Why a call failed, in a word where there is one (ECONNREFUSED), never a credential. */
function reasonOf (error: unknown): string {
  const cause = error instanceof Error && error.cause instanceof Error ? error.cause : error
  if (!(cause instanceof Error)) return String(cause)
  return (cause as NodeJS.ErrnoException).code ?? cause.message
}

/**
 * Asks the user service's internal API for the id of an email. A failure
 * names the setting and the address it tried (never the credential), so
 * the operator knows what to check.
 */
async function userIdByEmail (config: TotpConfig, email: string): Promise<string> {
  const base = config.USER_SERVICE_URL
  if (!base) {
    throw new UsageError('USER_SERVICE_URL must be set to find a user by email (or give --user-id)')
  }
  const where = `the user service at USER_SERVICE_URL=${describeUrl(base)}`
  const transport = httpTransport(base, { token: config.INTERNAL_TOKEN })

  let response
  try {
    response = await transport({
      method: 'GET',
      path: `/internal/users?email=${encodeURIComponent(email)}`
    })
  } catch (error) {
    throw new Error(`${where} did not answer (${reasonOf(error)})`)
  }

  if (response.status === 404) throw new Error(`no user has the email ${email}`)
  if (response.status === 401 || response.status === 403) {
    throw new Error(`${where} refused INTERNAL_TOKEN: it must be the one that service has`)
  }
  if (response.status !== 200) throw new Error(`${where} answered ${response.status}`)
  return (response.body as { id: string }).id
}

function describeTally (tally: RotationTally, kid: string): string {
  return `${tally.scanned} looked at: ${tally.resealed} re-sealed, ` +
    `${tally.alreadyCurrent} already under "${kid}", ${tally.skipped} changed meanwhile, ` +
    `${tally.failed} failed (last user id ${tally.lastUserId ?? '-'})`
}

const commands: Record<string, OpsCommand<TotpOps>> = {
  'disable-2fa': {
    summary: 'Turns 2FA off for a user who lost both device and recovery codes; lifts a lock too.',
    usage: '--email EMAIL | --user-id ID',
    options: { email: 'text', 'user-id': 'text' },
    stores: ['MONGO_URL', 'REDIS_URL', 'AMQP_URL'],
    run: async (ops, args, say) => {
      const userId = await userIdFrom(ops, args)
      await ops.service.twoFactor.adminDisable(userId, OPS_ACTOR, ops.log)
      say(`2FA is off for user ${userId}; they sign in with their password alone`)
      return 0
    }
  },

  unlock: {
    summary: 'Lifts the lock on an account\'s second step and forgets its wrong codes.',
    usage: '--email EMAIL | --user-id ID',
    options: { email: 'text', 'user-id': 'text' },
    stores: ['REDIS_URL', 'AMQP_URL'],
    run: async (ops, args, say) => {
      const userId = await userIdFrom(ops, args)
      const lockedMs = await ops.backends.state.lockedForMs(userId)
      await ops.backends.state.clearFailures(userId)
      ops.log.info({ user_id: userId, was_locked: lockedMs > 0 }, '2fa lock lifted')
      await ops.announce('twofactor.unlocked', { user_id: userId, actor_id: OPS_ACTOR })

      say(lockedMs > 0
        ? `unlocked user ${userId} (the lock had ${Math.ceil(lockedMs / 1000)} s left)`
        : `user ${userId} was not locked; their count of wrong codes is reset`)
      return 0
    }
  },

  'rotate-key': {
    summary: 'Re-encrypts every stored secret under TOTP_ENCRYPTION_KEY_ID; safe to run again.',
    usage: '[--batch N] [--after USER_ID]',
    options: { batch: 'count', after: 'text' },
    stores: ['MONGO_URL', 'AMQP_URL'],
    run: async (ops, args, say) => {
      const batch = args.count('batch', 100)
      const after = args.get('after') ?? null
      const box = new SecretBox(keyRingOf(ops.config))
      const kid = box.currentKid
      say(`re-sealing every TOTP secret under key "${kid}"`)

      const tally = await resealSecrets(ops.backends.factors, box, ops.log, {
        batch,
        after,
        onPage: (progress) => {
          ops.log.info({ ...progress, kid }, 'key rotation progress')
          say(describeTally(progress, kid))
        }
      })
      ops.log.info({ ...tally, kid }, 'key rotation finished')
      await ops.announce('ops.key_rotated', {
        key_id: kid,
        resealed: tally.resealed,
        already_current: tally.alreadyCurrent,
        skipped: tally.skipped,
        failed: tally.failed
      })

      say(`done: ${describeTally(tally, kid)}`)
      if (tally.failed > 0) {
        say('some secrets are sealed under a key that is not in TOTP_ENCRYPTION_KEYS: ' +
          'add it and run again')
      }
      return tally.failed > 0 ? 1 : 0
    }
  },

  'replay-dead-letters': replayCommand(CONSUMER)
}

exitWith(runOps({
  service: 'totp',
  commands,
  configure: () => loadTotpConfig(process.env),
  open
}, process.argv.slice(2)))
