import type { Logger } from 'pino'
import {
  announcer,
  busSettingsOf,
  describeUrl,
  exitWith,
  httpTransport,
  replayCommand,
  runOps,
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

/** The options that name the user a command acts on. */
const USER_OPTIONS = { email: 'text', 'user-id': 'text' } as const

/** What the user-service answers 404 with when the user is not there (and only then). */
const NO_SUCH_USER = 'user_not_found'

/**
 * A light check of an address to look up: the user service, which owns the
 * full rule, answers "no user" for anything else that is not an account.
 */
const EMAIL_SHAPE = /^[^\s@]+@[^\s@]+$/

/** What is wrong with the options naming the user, for the usage message. */
function checkUserOptions (args: OpsArgs): string[] {
  const email = args.get('email')
  if ((args.get('user-id') === undefined) === (email === undefined)) {
    return ['give either --email or --user-id']
  }
  if (email !== undefined && !EMAIL_SHAPE.test(email.trim())) {
    return ['--email must be one address of the form name@example.com']
  }
  return []
}

/**
 * The id of the user an option names, `--email` or `--user-id`, checked
 * with the user service so that a mistyped id is refused rather than acted
 * on. `checkUserOptions` has made sure exactly one is given.
 */
async function userIdFrom (ops: TotpOps, args: OpsArgs): Promise<string> {
  const id = args.get('user-id')
  const email = (args.get('email') ?? '').trim()
  const [path, who] = id === undefined
    ? [`/internal/users?email=${encodeURIComponent(email)}`, `the email ${email}`]
    : [`/internal/users/${encodeURIComponent(id)}`, `the id ${id}`]
  return await userIdAt(ops.config, path, who)
}

/** Why a call failed, in a word where there is one (ECONNREFUSED), never a credential. */
function reasonOf (error: unknown): string {
  const cause = error instanceof Error && error.cause instanceof Error ? error.cause : error
  if (!(cause instanceof Error)) return String(cause)
  return (cause as NodeJS.ErrnoException).code ?? cause.message
}

/**
 * Asks the user service's internal API for a user's id. "No such user" is
 * only the service's own error code: any other answer (a 404 from a server
 * without the internal routes, say) names the setting and the address it
 * tried (never the credential), so the operator knows what to check.
 */
async function userIdAt (config: TotpConfig, path: string, who: string): Promise<string> {
  // The command requires the setting, so it is there.
  const base = config.USER_SERVICE_URL as string
  const where = `the user service at USER_SERVICE_URL=${describeUrl(base)}`
  const transport = httpTransport(base, { token: config.INTERNAL_TOKEN })

  let response
  try {
    response = await transport({ method: 'GET', path })
  } catch (error) {
    throw new Error(`${where} did not answer (${reasonOf(error)})`)
  }

  const body = (response.body ?? {}) as { id?: unknown, error?: unknown }
  if (response.status === 404 && body.error === NO_SUCH_USER) {
    throw new Error(`no user has ${who}`)
  }
  if (response.status === 401 || response.status === 403) {
    throw new Error(`${where} refused INTERNAL_TOKEN: it must be the one that service has`)
  }
  if (response.status !== 200 || typeof body.id !== 'string') {
    const code = typeof body.error === 'string' ? ` ${body.error}` : ''
    throw new Error(`${where} answered something unexpected (${response.status}${code}): ` +
      'is the address its internal port?')
  }
  return body.id
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
    options: USER_OPTIONS,
    stores: ['MONGO_URL', 'REDIS_URL', 'AMQP_URL'],
    requires: ['USER_SERVICE_URL'],
    check: checkUserOptions,
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
    options: USER_OPTIONS,
    stores: ['REDIS_URL', 'AMQP_URL'],
    requires: ['USER_SERVICE_URL'],
    check: checkUserOptions,
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
  env: process.env,
  configure: loadTotpConfig,
  open
}, process.argv.slice(2)))
