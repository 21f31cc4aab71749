import { copyText } from './clipboard.js'
import { byId, say, unsay } from './dom.js'

const NOT_TICKED = 'Tick "I have saved these codes" first: they are not shown again.'

/** The text of the downloaded file: the codes, one a line, and what they are for. */
export function codesFile (codes: string[], account: string): string {
  return [
    `twofa recovery codes for ${account}`,
    `Made on ${new Date().toISOString().slice(0, 10)}. Each code signs you in once.`,
    '',
    ...codes,
    ''
  ].join('\n')
}

function download (name: string, text: string): void {
  const url = URL.createObjectURL(new Blob([text], { type: 'text/plain;charset=utf-8' }))
  const link = document.createElement('a')
  link.href = url
  link.download = name
  document.body.append(link)
  link.click()
  link.remove()
  window.setTimeout(() => URL.revokeObjectURL(url), 10_000)
}

/**
 * The codes, shown once. Until the person ticks "I have saved these codes"
 * the page holds them: links and sign-out are stopped with a message, and the
 * browser asks before a reload or close.
 */
export class RecoveryCodesView {
  private codes: string[] = []
  private account = ''
  private onDone: () => void = () => {}
  private readonly section = byId('codes')
  private readonly list = byId<HTMLOListElement>('codes-list')
  private readonly saved = byId<HTMLInputElement>('codes-saved')
  private readonly note = byId('codes-note')
  private readonly error = byId('codes-error')

  constructor () {
    byId('download-codes').addEventListener('click', () => {
      download('twofa-recovery-codes.txt', codesFile(this.codes, this.account))
      this.note.textContent = 'Downloaded twofa-recovery-codes.txt.'
    })
    byId('copy-codes').addEventListener('click', () => {
      copyText(this.codes.join('\n'), this.list).then((said) => {
        this.note.textContent = said
      })
    })
    this.saved.addEventListener('change', () => {
      if (this.saved.checked) unsay(this.error)
    })
    byId('codes-done').addEventListener('click', () => this.finish())
    document.addEventListener('click', (event) => this.holdLinks(event), { capture: true })
    window.addEventListener('beforeunload', (event) => {
      if (this.holding()) event.preventDefault()
    })
  }

  /** Shows a fresh set; `onDone` runs once the person confirms they saved it. */
  show (codes: string[], account: string, onDone: () => void): void {
    this.codes = codes
    this.account = account
    this.onDone = onDone
    this.list.replaceChildren(...codes.map((code) => {
      const item = document.createElement('li')
      item.textContent = code
      return item
    }))
    this.saved.checked = false
    this.note.textContent = ''
    unsay(this.error)
    this.section.hidden = false
    this.section.focus()
  }

  private holding (): boolean {
    return this.codes.length > 0 && !this.saved.checked
  }

  private refuse (): void {
    say(this.error, NOT_TICKED)
    this.saved.focus()
  }

  private finish (): void {
    if (this.holding()) {
      this.refuse()
      return
    }
    this.codes = []
    this.list.replaceChildren()
    this.section.hidden = true
    this.onDone()
  }

  /** Stops the page's own links and sign-out while the codes are not saved. */
  private holdLinks (event: MouseEvent): void {
    if (!this.holding() || !(event.target instanceof Element)) return
    const leaving = event.target.closest('a[href]:not([download]), #sign-out')
    if (!leaving || this.section.contains(leaving)) return
    event.preventDefault()
    event.stopImmediatePropagation()
    this.refuse()
  }
}
