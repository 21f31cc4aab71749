/**
 * The part of a backing-service address that is safe to print: scheme, host
 * and port, never user name or password.
 */
export function describeUrl (value: string): string {
  const parts = /^([a-z][a-z0-9+.-]*:)\/\/(?:[^@/]*@)?([^/?#]*)/.exec(value)
  return parts ? `${parts[1] as string}//${parts[2] as string}` : '(unparseable address)'
}

/**
 * Runs a connection step and, when it fails, says in one line which service
 * at which address could not be reached and why.
 */
export async function reach<T> (what: string, url: string, connect: () => Promise<T>): Promise<T> {
  try {
    return await connect()
  } catch (error) {
    const reason = error instanceof Error
      ? (error as { code?: string }).code ?? error.message
      : String(error)
    throw new Error(`${what} at ${describeUrl(url)} is unreachable (${reason})`)
  }
}
