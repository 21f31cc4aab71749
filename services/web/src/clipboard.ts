/**
 * Copies text for the person and says how it went. The Clipboard API needs a
 * secure context (https, or localhost); elsewhere the text is selected on
 * the page so a keyboard shortcut copies it.
 */
export async function copyText (text: string, shown: HTMLElement): Promise<string> {
  try {
    await navigator.clipboard.writeText(text)
    return 'Copied.'
  } catch {
    const selection = window.getSelection()
    selection?.selectAllChildren(shown)
    return 'Selected: press Ctrl+C (or Cmd+C) to copy.'
  }
}
