import { createInterface } from 'node:readline'
import type { Logger } from 'pino'
import {
  announcer,
  busSettingsOf,
  exitWith,
  replayCommand,
  runOps,
  UsageError,
  type OpsBase,
  type OpsCommand
} from '@twofa/kit'
import { connectUserBackends, type UserBackends } from './backends.js'
import { loadUserConfig, type UserConfig } from './config.js'
import { emailProblem, normaliseEmail } from './domain/emails.js'
import { CONSUMER } from './events/consumers.js'
import { createUserService, type UserService } from './service.js'

interface UserOps extends OpsBase {
  backends: UserBackends
  service: UserService
}

async function open (
  config: UserConfig,
  log: Logger
): Promise<UserOps & { close: () => Promise<void> }> {
  const backends = await connectUserBackends(config, log)
  const service = await createUserService(config, log, backends)

  return {
    log,
    backends,
    service,
    amqp: busSettingsOf(config),
    announce: announcer(backends.bus, log),
    // Relays what the domain stored in the outbox (user.created), then disconnects.
    close: async () => await service.close()
  }
}

/**
 * The password comes on standard input, never as an argument, so it stays
 * out of the process list and the shell history.
 */
async function readPassword (): Promise<string> {
  if (process.stdin.isTTY) {
    throw new UsageError('give the password on standard input, e.g. from a file or a pipe')
  }

  const lines = createInterface({ input: process.stdin })
  const first = await lines[Symbol.asyncIterator]().next()
  lines.close()
  if (first.done === true) throw new UsageError('no password on standard input')
  return first.value as string
}

const commands: Record<string, OpsCommand<UserOps>> = {
  'create-admin': {
    summary: 'Creates an admin with the password read from standard input, ' +
      'or gives an existing account the admin role (its password unchanged).',
    usage: '--email EMAIL < password-file',
    options: { email: 'text' },
    stores: ['MONGO_URL', 'AMQP_URL'],
    check: (args) => {
      const given = args.get('email')
      if (given === undefined) return ['--email is required']
      // The rule sign-up applies, so the admin could also have signed up.
      const problem = emailProblem(normaliseEmail(given))
      return problem ? [`--email: ${problem}`] : []
    },
    run: async (ops, args, say) => {
      const email = normaliseEmail(args.get('email') as string)
      const store = ops.backends.store
      const before = await store.findByEmail(email)

      if (!before) {
        const password = await readPassword()
        if (password.length < 12 || password.length > 128) {
          throw new UsageError('the password must have 12 to 128 characters')
        }
        await ops.service.users.ensureAdmin(email, password, ops.log)
      } else if (!before.roles.includes('admin')) {
        await store.addRole(before.id, 'admin')
      }

      const admin = await store.findByEmail(email)
      if (!admin?.roles.includes('admin')) throw new Error(`no admin could be made for ${email}`)
      if (before?.roles.includes('admin')) {
        say(`${email} is already an admin (user ${admin.id}); nothing changed`)
        return 0
      }

      ops.log.info({ user_id: admin.id, created: !before }, 'admin role granted')
      await ops.announce('user.admin_granted', { user_id: admin.id, created: !before })
      say(before
        ? `${email} (user ${admin.id}) is now an admin; the password is unchanged`
        : `created admin ${email} (user ${admin.id})`)
      return 0
    }
  },

  'replay-dead-letters': replayCommand(CONSUMER)
}

exitWith(runOps({
  service: 'user',
  commands,
  env: process.env,
  configure: loadUserConfig,
  open
}, process.argv.slice(2)))
