import { mkdirSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { chromium, type BrowserContext, type Page } from 'playwright-core'
import type { Test } from 'tap'
import { programMissing } from '@twofa/testing'

export const repositoryRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..')
export const webRoot = join(repositoryRoot, 'services/web/dist')

/** Where each page's screenshot goes, one folder per setup (git-ignored). */
export const ARTIFACTS = join(repositoryRoot, 'services/web/test/artifacts')

const CHROMIUM = '/usr/bin/chromium'

/**
 * Debian's chromium, headless, with nothing that phones home: no background
 * networking, component updates or sync. Page requests are also held to the
 * server under test (see `openBrowser`).
 */
const CHROMIUM_FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-quic',
  '--no-first-run',
  '--disable-component-update',
  '--disable-sync'
]

/** Why the browser tests cannot run here, or false when they can. */
export function chromiumMissing (): string | false {
  return programMissing(CHROMIUM, '.ci/run installs it with apt-get install -y chromium')
}

export interface StepOptions {
  /** Whether a step that succeeds is photographed too (a failing one always is). */
  screenshot: boolean
}

export interface Browser {
  page: Page
  context: BrowserContext
  /**
   * Runs one step of a walk and saves a screenshot of the page after it
   * (`NN-name.png`, unless told not to), or `NN-name-FAILED.png` when the
   * step throws.
   */
  step: (name: string, action: () => Promise<void>, options?: StepOptions) => Promise<void>
  /** Requests that tried to leave the server under test (all were refused). */
  offsite: string[]
  /** Content-Security-Policy violations and uncaught errors the pages reported. */
  pageErrors: string[]
  /** Text the pages put on the clipboard. */
  clipboard: () => Promise<string>
  /** Pastes text into the focused field the way a person does (Ctrl+V). */
  paste: (text: string) => Promise<void>
}

/**
 * Starts chromium with a fresh profile on a base URL, for one tap test; it
 * is closed and its profile removed when the test ends.
 */
export async function openBrowser (t: Test, baseUrl: string, setup: string): Promise<Browser> {
  const profile = mkdtempSync(join(tmpdir(), 'twofa-chromium-'))
  const shots = join(ARTIFACTS, setup)
  rmSync(shots, { recursive: true, force: true })
  mkdirSync(shots, { recursive: true })

  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: CHROMIUM_FLAGS,
    viewport: { width: 1024, height: 800 },
    acceptDownloads: true
  })
  t.teardown(async () => {
    await context.close()
    rmSync(profile, { recursive: true, force: true })
  })
  await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: baseUrl })

  const origin = new URL(baseUrl).origin
  const offsite: string[] = []
  await context.route('**/*', async (route) => {
    const url = route.request().url()
    if (new URL(url).origin === origin) return await route.continue()
    offsite.push(url)
    return await route.abort('blockedbyclient')
  })

  const page = context.pages()[0] ?? await context.newPage()
  const pageErrors: string[] = []
  page.on('console', (message) => {
    if (/Content.Security.Policy|Refused to/i.test(message.text())) pageErrors.push(message.text())
  })
  page.on('pageerror', (error) => pageErrors.push(`${error.name}: ${error.message}`))

  let count = 0
  /** The next screenshot's path: numbered in the order the pages were seen. */
  const shot = (name: string) => {
    count += 1
    return join(shots, `${String(count).padStart(2, '0')}-${name}.png`)
  }
  const step = async (name: string, action: () => Promise<void>, options?: StepOptions) => {
    try {
      await action()
    } catch (error) {
      const path = shot(`${name}-FAILED`)
      await page.screenshot({ path, fullPage: true }).catch(() => {})
      t.comment(`screenshot of the failed step: ${path}`)
      throw error
    }
    if (options?.screenshot !== false) await page.screenshot({ path: shot(name), fullPage: true })
    t.pass(name.replaceAll('-', ' '))
  }

  return {
    page,
    context,
    step,
    offsite,
    pageErrors,
    clipboard: async () => String(await page.evaluate('navigator.clipboard.readText()')),
    paste: async (text: string) => {
      await page.evaluate(`navigator.clipboard.writeText(${JSON.stringify(text)})`)
      await page.keyboard.press('Control+V')
    }
  }
}

/** Form fields on the page that no label names (there should be none). */
export async function unlabelledFields (page: Page): Promise<string[]> {
  return await page.evaluate(`[...document.querySelectorAll('input, select, textarea')]
    .filter((field) => field.type !== 'hidden' && field.labels.length === 0)
    .map((field) => field.id || field.name || field.outerHTML)`) as string[]
}

/** How far the page is wider than the window (0 when nothing scrolls sideways). */
export async function sidewaysOverflow (page: Page): Promise<number> {
  return await page.evaluate(
    'document.documentElement.scrollWidth - document.documentElement.clientWidth'
  ) as number
}
