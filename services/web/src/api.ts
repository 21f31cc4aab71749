/** The readable cookie whose value state-changing requests echo in a header. */
const CSRF_COOKIE = 'twofa_csrf'

const UNREACHABLE = 'Could not reach the server. Check your connection and try again.'

/** An answer with an error status: the API's `{error, message, ...}` body. */
export class ApiError extends Error {
  readonly status: number
  readonly code: string
  readonly body: Record<string, unknown>

  constructor (status: number, body: Record<string, unknown>) {
    const message = typeof body.message === 'string'
      ? body.message
      : `Something went wrong (status ${status}). Try again.`
    super(message)
    this.name = 'ApiError'
    this.status = status
    this.code = typeof body.error === 'string' ? body.error : 'unknown'
    this.body = body
  }
}

/** The CSRF value of the browser session, when there is one. */
function csrfToken (): string | undefined {
  for (const part of document.cookie.split(';')) {
    const [name, ...value] = part.trim().split('=')
    if (name === CSRF_COOKIE) return decodeURIComponent(value.join('='))
  }
  return undefined
}

/** True when this browser holds a session (it may still have expired). */
export function hasSession (): boolean {
  return csrfToken() !== undefined
}

export interface CallOptions {
  method?: string
  body?: unknown
}

/**
 * Calls the API on the page's own origin. The access token travels only in
 * the HttpOnly session cookie, which no script here can read; sign-in calls
 * ask for that cookie with `x-session-mode`, and state-changing calls echo
 * the readable CSRF cookie in `x-csrf-token` (the double-submit check).
 */
export async function call<T> (path: string, options: CallOptions = {}): Promise<T> {
  const method = options.method ?? (options.body === undefined ? 'GET' : 'POST')
  const headers: Record<string, string> = {
    accept: 'application/json',
    'x-session-mode': 'cookie'
  }
  if (options.body !== undefined) headers['content-type'] = 'application/json'
  const csrf = csrfToken()
  if (method !== 'GET' && csrf !== undefined) headers['x-csrf-token'] = csrf

  let response: Response
  try {
    response = await fetch(path, {
      method,
      headers,
      body: options.body === undefined ? undefined : JSON.stringify(options.body),
      credentials: 'same-origin',
      cache: 'no-store'
    })
  } catch {
    throw new ApiError(0, { error: 'unreachable', message: UNREACHABLE })
  }

  const body = await readJson(response)
  if (!response.ok) throw new ApiError(response.status, body)
  return body as T
}

async function readJson (response: Response): Promise<Record<string, unknown>> {
  const text = await response.text()
  if (text === '') return {}

  try {
    const parsed: unknown = JSON.parse(text)
    return typeof parsed === 'object' && parsed !== null ? parsed as Record<string, unknown> : {}
  } catch {
    return {}
  }
}

/** What to tell a person about a failure: the API's message, or a plain fallback. */
export function messageOf (error: unknown): string {
  if (error instanceof ApiError) return error.message
  return 'Something went wrong on this page. Reload it and try again.'
}
