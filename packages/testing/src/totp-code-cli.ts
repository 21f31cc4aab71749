import { authenticatorCode } from './totp.js'

/**
 * `pnpm -s totp-code SECRET [SECONDS]`: prints the code an authenticator app
 * would show for a base32 secret now (or SECONDS from now), for trying the
 * API with curl and no phone.
 */
function main (args: string[]): number {
  const [secret, offsetText = '0'] = args
  const offset = Number(offsetText)
  if (!secret || !Number.isFinite(offset)) {
    process.stderr.write('usage: pnpm -s totp-code BASE32SECRET [SECONDS_FROM_NOW]\n')
    return 2
  }

  try {
    process.stdout.write(`${authenticatorCode(secret, Date.now() / 1000 + offset)}\n`)
    return 0
  } catch {
    process.stderr.write('totp-code: the secret is not base32 (letters A-Z and digits 2-7)\n')
    return 2
  }
}

process.exitCode = main(process.argv.slice(2))
