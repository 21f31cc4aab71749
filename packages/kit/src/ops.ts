import type { Logger } from 'pino'
import { ConfigError, isMemoryUrl } from './config.js'
import { AppError } from './errors.js'
import { createLogger } from './logger.js'

/** The options given to one command, `--name value` or `--name=value`. */
export interface OpsArgs {
  get: (name: string) => string | undefined
  /** A whole number of at least 1, or `fallback` when the option is not given. */
  count: (name: string, fallback: number) => number
}

/** A line for the person at the terminal, on stdout; the log goes to stderr. */
export type Say = (line: string) => void

/** What an option takes: any text, or a whole number of at least 1. */
export type OptionKind = 'text' | 'count'

export interface OpsCommand<Context> {
  summary: string
  /** The options after the command name, as the usage shows them. */
  usage: string
  /** The options the command takes; each is checked with the command line, before any work. */
  options: Record<string, OptionKind>
  /**
   * The settings naming the servers the command reads or changes, or
   * publishes its events on. None may name an in-memory stand-in: it would
   * live and die inside the command, so nothing done to it would last or
   * reach the running service.
   */
  stores: string[]
  /** Does the work; resolves to the exit code (0 done, 1 done in part or failed). */
  run: (context: Context, args: OpsArgs, say: Say) => Promise<number>
}

export interface OpsProgram<Config extends object, Context> {
  /** `totp` or `user`: names the log and the messages. */
  service: string
  commands: Record<string, OpsCommand<Context>>
  /** Checks the service's settings with its own schema; a ConfigError lists every problem. */
  configure: () => Config
  /** Connects to the servers the settings name. */
  open: (config: Config, log: Logger) => Promise<Context & { close: () => Promise<void> }>
}

/** A mistake on the command line: reported with the command's usage, exit code 2. */
export class UsageError extends Error {}

const COUNT = /^[1-9][0-9]{0,6}$/

function parseArgs (words: string[], options: Record<string, OptionKind>): OpsArgs {
  const values = new Map<string, string>()

  for (let i = 0; i < words.length; i++) {
    const word = words[i] as string
    const match = /^--([a-z][a-z0-9-]*)(?:=(.*))?$/.exec(word)
    if (!match) throw new UsageError(`unexpected argument "${word}"`)

    const name = match[1] as string
    const kind = Object.hasOwn(options, name) ? options[name] : undefined
    if (kind === undefined) throw new UsageError(`unknown option --${name}`)
    const value = match[2] ?? words[++i]
    if (value === undefined || value.startsWith('--')) {
      throw new UsageError(`--${name} needs a value`)
    }
    if (kind === 'count' && !COUNT.test(value)) {
      throw new UsageError(`--${name} must be a whole number of at least 1`)
    }
    values.set(name, value)
  }

  return {
    get: (name) => values.get(name),
    count: (name, fallback) => {
      const text = values.get(name)
      if (text === undefined) return fallback
      if (options[name] !== 'count') throw new Error(`--${name} is not declared as a count`)
      return Number(text)
    }
  }
}

function usage<Config extends object, C> (program: OpsProgram<Config, C>): string {
  const lines = Object.entries(program.commands).map(([name, command]) =>
    `  ${name} ${command.usage}\n      ${command.summary}`)
  return `usage: ops.js COMMAND [OPTIONS]\n\ncommands:\n${lines.join('\n')}\n`
}

/**
 * The service's settings for one command, checked with its own schema, and
 * with real servers where the command works; or null, once `fail` has said
 * what is wrong.
 */
function settingsFor<Config extends object> (
  configure: () => Config,
  command: { name: string, stores: string[], service: string },
  fail: (message: string) => void
): Config | null {
  let config: Config
  try {
    config = configure()
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error
    fail('invalid configuration:')
    for (const problem of error.problems) process.stderr.write(`  ${problem}\n`)
    return null
  }

  const standIns = command.stores.filter((key) => {
    const value = (config as Record<string, unknown>)[key]
    return typeof value === 'string' && isMemoryUrl(value)
  })
  if (standIns.length > 0) {
    fail(`${command.name}: refused: an in-memory stand-in would live only inside this ` +
      `command, so nothing it did would last or reach the ${command.service} service:`)
    for (const key of standIns) {
      process.stderr.write(`  ${key}: is memory://; set it to the server the service uses\n`)
    }
    return null
  }
  return config
}

/**
 * Runs one ops command as a process: checks the command line, then the
 * service's config with its own schema (every problem listed) and that the
 * servers the command works on are real, all before connecting to anything;
 * logs as JSON on stderr, speaks to the operator on stdout, and always
 * closes what it opened. Resolves to the exit code: 0 done, 1 failed, 2 a
 * usage or configuration mistake.
 */
export async function runOps<Config extends object, C> (
  program: OpsProgram<Config, C>,
  argv: string[]
): Promise<number> {
  const [name, ...words] = argv
  const command = name === undefined ? undefined : program.commands[name]
  const say: Say = (line) => { process.stdout.write(`${line}\n`) }
  const fail = (message: string): void => {
    process.stderr.write(`${program.service} ops: ${message}\n`)
  }

  if (name === undefined || name === 'help' || name === '--help' || !command) {
    if (name !== undefined && !['help', '--help'].includes(name)) fail(`unknown command "${name}"`)
    process.stderr.write(usage(program))
    return name === 'help' || name === '--help' ? 0 : 2
  }

  let args: OpsArgs
  try {
    args = parseArgs(words, command.options)
  } catch (error) {
    fail(`${name}: ${(error as Error).message}; usage: ${name} ${command.usage}`)
    return 2
  }

  const config = settingsFor(program.configure,
    { name, stores: command.stores, service: program.service }, fail)
  if (config === null) return 2

  const log = createLogger({
    service: `${program.service}-ops`,
    level: 'info',
    destination: process.stderr
  })
  let context: C & { close: () => Promise<void> }
  try {
    context = await program.open(config, log)
  } catch (error) {
    fail(`cannot start: ${(error as Error).message}`)
    return 1
  }

  try {
    return await command.run(context, args, say)
  } catch (error) {
    if (error instanceof UsageError) {
      fail(`${name}: ${error.message}; usage: ${name} ${command.usage}`)
      return 2
    }
    if (!(error instanceof AppError)) log.error({ err: error, command: name }, 'ops command failed')
    fail(`${name}: ${(error as Error).message}`)
    return 1
  } finally {
    await context.close()
  }
}

/**
 * The process side of `runOps`: sets the exit code, and exits anyway if a
 * connection that failed to close keeps the process alive.
 */
export function exitWith (code: Promise<number>): void {
  code.then((value) => {
    process.exitCode = value
    setTimeout(() => process.exit(value), 2000).unref()
  }, (error: unknown) => {
    process.stderr.write(`${String(error)}\n`)
    process.exit(1)
  })
}
