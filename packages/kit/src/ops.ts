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
  /**
   * Settings the service can go without but this command cannot; each that
   * is not set is listed with the other configuration problems.
   */
  requires?: string[]
  /**
   * The problems with the options as given (a missing one, two that exclude
   * each other, a value of the wrong shape), each as a short sentence;
   * checked with the command line, before the settings are reported on.
   */
  check?: (args: OpsArgs) => string[]
  /** Does the work; resolves to the exit code (0 done, 1 done in part or failed). */
  run: (context: Context, args: OpsArgs, say: Say) => Promise<number>
}

export interface OpsProgram<Config extends object, Context> {
  /** `totp` or `user`: names the log and the messages. */
  service: string
  commands: Record<string, OpsCommand<Context>>
  /** The environment the settings are read from. */
  env: Record<string, string | undefined>
  /** Checks the service's settings with its own schema; a ConfigError lists every problem. */
  configure: (env: Record<string, string | undefined>) => Config
  /**
   * Connects to the servers the settings name. A server the command does
   * not use is named `memory://` here, so nothing connects to it.
   */
  open: (config: Config, log: Logger) => Promise<Context & { close: () => Promise<void> }>
}

/** A mistake on the command line: reported with the command's usage, exit code 2. */
export class UsageError extends Error {}

const COUNT = /^[1-9][0-9]{0,6}$/

/** The options that could be read, and what is wrong with the rest. */
function parseArgs (
  words: string[],
  options: Record<string, OptionKind>
): { args: OpsArgs, problems: string[] } {
  const values = new Map<string, string>()
  const problems: string[] = []

  for (let i = 0; i < words.length; i++) {
    const word = words[i] as string
    const match = /^--([a-z][a-z0-9-]*)(?:=(.*))?$/.exec(word)
    if (!match) {
      problems.push(`unexpected argument "${word}"`)
      continue
    }

    const name = match[1] as string
    const next = words[i + 1]
    // Every option takes a value, so the word after one is its value unless it is an option.
    const value = match[2] ?? (next?.startsWith('--') === false ? next : undefined)
    if (match[2] === undefined && value !== undefined) i++
    const kind = Object.hasOwn(options, name) ? options[name] : undefined
    if (kind === undefined) {
      problems.push(`unknown option --${name}`)
      continue
    }
    if (value === undefined) {
      problems.push(`--${name} needs a value`)
      continue
    }
    if (kind === 'count' && !COUNT.test(value)) {
      problems.push(`--${name} must be a whole number of at least 1`)
      continue
    }
    values.set(name, value)
  }

  return { args: argsOf(values, options), problems }
}

function argsOf (values: Map<string, string>, options: Record<string, OptionKind>): OpsArgs {
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

/** The servers a service runs on, each either real or an in-memory stand-in. */
const BACKING_SETTINGS = ['REDIS_URL', 'MONGO_URL', 'AMQP_URL']

/**
 * The settings with every server the command does not use named
 * `memory://`, so opening the service connects only to what the command
 * works on.
 */
function withUnusedAsStandIns<Config extends object> (config: Config, stores: string[]): Config {
  const narrowed = { ...config } as Record<string, unknown>
  for (const key of BACKING_SETTINGS) {
    if (Object.hasOwn(narrowed, key) && !stores.includes(key)) narrowed[key] = 'memory://'
  }
  return Object.freeze(narrowed) as Config
}

const STAND_IN_WARNING = /in-memory stand-in/

/**
 * The log to open a command's servers with. Every stand-in in an ops
 * process is for a server the command does not use (it refuses them for
 * the others), so the warning that its data is lost on restart is noise.
 */
function quietAboutStandIns (log: Logger): Logger {
  const warn = log.warn.bind(log) as (...args: unknown[]) => void
  const quiet = Object.create(log) as Logger
  quiet.warn = ((...args: unknown[]) => {
    if (!args.some((arg) => typeof arg === 'string' && STAND_IN_WARNING.test(arg))) warn(...args)
  }) as Logger['warn']
  return quiet
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
  program: Pick<OpsProgram<Config, unknown>, 'env' | 'configure' | 'service'>,
  name: string,
  command: Pick<OpsCommand<unknown>, 'stores' | 'requires'>,
  fail: (message: string) => void
): Config | null {
  const problems = (command.requires ?? [])
    .filter((key) => !program.env[key])
    .map((key) => `${key}: ${key} is not set; ${name} needs it`)
  let config: Config | null = null
  try {
    config = program.configure(program.env)
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error
    problems.unshift(...error.problems)
  }
  if (problems.length > 0) {
    fail('invalid configuration:')
    for (const problem of problems) process.stderr.write(`  ${problem}\n`)
  }
  if (config === null) return null

  const standIns = command.stores.filter((key) => {
    const value = (config as Record<string, unknown>)[key]
    return typeof value === 'string' && isMemoryUrl(value)
  })
  if (standIns.length > 0) {
    fail(`${name}: refused: an in-memory stand-in would live only inside this ` +
      `command, so nothing it did would last or reach the ${program.service} service:`)
    for (const key of standIns) {
      process.stderr.write(`  ${key}: is memory://; set it to the server the service uses\n`)
    }
  }
  return problems.length > 0 || standIns.length > 0 ? null : config
}

/**
 * Runs one ops command as a process: checks the command line, the
 * service's config with its own schema and that the servers the command
 * works on are real, listing every problem of each at once, all before
 * connecting to anything; opens only the servers the command uses;
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

  const { args, problems } = parseArgs(words, command.options)
  problems.push(...(command.check?.(args) ?? []))
  if (problems.length > 0) {
    const said = problems.map((problem) => problem.replace(/\.$/, '')).join('; ')
    fail(`${name}: ${said}; usage: ${name} ${command.usage}`)
  }
  const config = settingsFor(program, name, command, fail)
  if (config === null || problems.length > 0) return 2

  const log = createLogger({
    service: `${program.service}-ops`,
    level: 'info',
    destination: process.stderr
  })
  let context: C & { close: () => Promise<void> }
  try {
    context = await program.open(withUnusedAsStandIns(config, command.stores),
      quietAboutStandIns(log))
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
