import { messageOf } from './api.js'

/** The element with this id; a page whose markup lacks it is a bug worth failing loudly on. */
export function byId<T extends HTMLElement = HTMLElement> (id: string): T {
  const element = document.getElementById(id)
  if (!element) throw new Error(`#${id} is missing from the page`)
  return element as T
}

/** Shows a message in its region; alert and status regions announce it to screen readers. */
export function say (region: HTMLElement, text: string): void {
  region.textContent = text
  region.hidden = false
}

export function unsay (region: HTMLElement): void {
  region.textContent = ''
  region.hidden = true
}

/** Shows exactly one of a page's sections and moves the focus to it. */
export function showOnly (sections: HTMLElement[], shown: HTMLElement, focus?: HTMLElement): void {
  for (const section of sections) section.hidden = section !== shown
  ;(focus ?? shown).focus()
}

export interface SubmitOptions {
  /** Where failures are shown. */
  error: HTMLElement
  /** Focused after a failure, so the person can correct it straight away. */
  focusOnError?: HTMLInputElement
}

/**
 * Runs a form's action on submit, once at a time, and shows what went wrong
 * in the form's error region. The submit button stays focusable while the
 * request runs (a disabled button would drop the keyboard focus).
 */
export function onSubmit (
  form: HTMLFormElement,
  options: SubmitOptions,
  action: (data: FormData) => Promise<void>
): void {
  let running = false

  form.addEventListener('submit', (event) => {
    event.preventDefault()
    if (running) return
    running = true
    unsay(options.error)
    form.setAttribute('aria-busy', 'true')

    action(new FormData(form))
      .catch((error: unknown) => {
        say(options.error, messageOf(error))
        options.focusOnError?.select()
        options.focusOnError?.focus()
      })
      .finally(() => {
        running = false
        form.removeAttribute('aria-busy')
      })
  })
}

/** A form field's text, trimmed. */
export function field (data: FormData, name: string): string {
  const value = data.get(name)
  return typeof value === 'string' ? value.trim() : ''
}

/** Leaves the page; the promise never settles, so nothing after it runs on the old page. */
export async function go (url: string): Promise<never> {
  window.location.assign(url)
  return await new Promise<never>(() => {})
}
