import { Writable } from 'node:stream'

/**
 * A pino destination that keeps every line, so a test can read what a
 * service logged: that a decision was logged, and that no secret was.
 */
export class LogCapture extends Writable {
  readonly lines: string[] = []

  override _write (chunk: Buffer, _encoding: BufferEncoding, callback: () => void): void {
    for (const line of chunk.toString('utf8').split('\n')) {
      if (line.trim()) this.lines.push(line)
    }
    callback()
  }

  /** Every captured line, parsed. */
  entries (): Array<Record<string, unknown>> {
    return this.lines.map((line) => JSON.parse(line) as Record<string, unknown>)
  }

  /** Everything captured as one string, for "this value never appears" checks. */
  text (): string {
    return this.lines.join('\n')
  }
}
