import { authenticatorCode } from './totp.js'

/**
 * `pnpm totp-code SECRET`: prints the code an authenticator app would show
 * now for a base32 secret, for trying the API with curl and no phone.
 */
const secret = process.argv[2]
if (!secret) {
  process.stderr.write('usage: pnpm totp-code BASE32SECRET [seconds-offset]\n')
  process.exit(2)
}

const offset = Number(process.argv[3] ?? 0)
process.stdout.write(`${authenticatorCode(secret, Date.now() / 1000 + offset)}\n`)
