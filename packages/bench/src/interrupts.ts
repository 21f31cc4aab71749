/** Clean-ups to run if the bench is stopped halfway, newest first. */
const pending: Array<() => Promise<void>> = []
let stopping = false

/** True once a signal arrived: the clean-up then ends the process, not the failing run. */
export function interrupted (): boolean {
  return stopping
}

/** Registers a clean-up for an interrupted run; the returned function drops it again. */
export function onInterrupt (cleanUp: () => Promise<void>): () => void {
  pending.push(cleanUp)
  return () => {
    const index = pending.indexOf(cleanUp)
    if (index >= 0) pending.splice(index, 1)
  }
}

/**
 * On Ctrl-C or SIGTERM, stops the processes the bench started and removes
 * what they wrote in Redis, RabbitMQ and MongoDB before exiting.
 */
export function cleanUpOnSignals (say: (line: string) => void): void {
  const handle = (signal: NodeJS.Signals): void => {
    stopping = true
    say(`${signal}: stopping what the bench started`)
    const steps = pending.splice(0).reverse()
    const run = async (): Promise<void> => {
      for (const step of steps) await step().catch(() => {})
    }
    run().finally(() => process.exit(130))
  }
  process.once('SIGINT', handle)
  process.once('SIGTERM', handle)
}
