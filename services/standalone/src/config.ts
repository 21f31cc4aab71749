import { z } from 'zod'
import { loadConfig, logLevel, port, shutdownDelaySeconds } from '@twofa/kit'

/**
 * The one-process start's own settings. The three services it runs read
 * theirs from the same environment, each with its own schema.
 */
const schema = z.object({
  HOST: z.string().default('127.0.0.1'),
  PORT: port(8080),
  LOG_LEVEL: logLevel,
  DATA_DIR: z.string().default('.data'),
  SHUTDOWN_DELAY_SECONDS: shutdownDelaySeconds
})

/** The settings the one-process start reads; the README's configuration table lists each. */
export const standaloneSettingNames = Object.keys(schema.shape)

export type StandaloneConfig = Readonly<z.infer<typeof schema>>

export function loadStandaloneConfig (env: Record<string, string | undefined>): StandaloneConfig {
  return loadConfig('standalone', schema, env)
}
