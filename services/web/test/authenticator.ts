import { authenticatorCode } from '@twofa/testing'

const STEP_SECONDS = 30
/** A code must still be inside the server's window this long after it is picked. */
const MARGIN_SECONDS = 10

/**
 * A phone's authenticator app for one secret, as a test drives it. The
 * service accepts each time step once (and no earlier one after it), with one
 * step of drift either way; this hands out a fresh, acceptable step each
 * time, waiting for the clock when the window is used up.
 */
export class Authenticator {
  private lastStep = -Infinity

  constructor (readonly secret: string) {}

  async nextCode (): Promise<string> {
    for (;;) {
      const seconds = Date.now() / 1000
      const now = Math.floor(seconds / STEP_SECONDS)
      const soon = Math.floor((seconds + MARGIN_SECONDS) / STEP_SECONDS)
      const step = Math.max(this.lastStep + 1, soon - 1)
      if (step <= now + 1) {
        this.lastStep = step
        return authenticatorCode(this.secret, step * STEP_SECONDS)
      }
      const wait = ((step - 1) * STEP_SECONDS - seconds) * 1000 + 200
      await new Promise((resolve) => setTimeout(resolve, wait))
    }
  }

  /** A code that is wrong now and in the steps around it. */
  wrongCode (): string {
    const now = Math.floor(Date.now() / 1000 / STEP_SECONDS)
    const near = new Set([-2, -1, 0, 1, 2].map((d) =>
      authenticatorCode(this.secret, (now + d) * STEP_SECONDS)))
    for (let guess = 0; ; guess++) {
      const code = String(guess).padStart(6, '0')
      if (!near.has(code)) return code
    }
  }
}
