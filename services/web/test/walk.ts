import { readFileSync } from 'node:fs'
import type { Page } from 'playwright-core'
import type { Test } from 'tap'
import { Authenticator } from './authenticator.js'
import { sidewaysOverflow, unlabelledFields, type Browser } from './browser.js'

export interface Person {
  name: string
  email: string
  password: string
}

export interface WalkOptions {
  baseUrl: string
  user: Person
  /** The first admin, created at start from ADMIN_EMAIL and ADMIN_PASSWORD. */
  admin: Person
}

const WAIT = { timeout: 15_000 }

async function heading (page: Page, name: string | RegExp): Promise<void> {
  await page.getByRole('heading', { name, level: 1 }).waitFor(WAIT)
}

async function fieldsAreLabelled (t: Test, page: Page, where: string): Promise<void> {
  t.same(await unlabelledFields(page), [], `every field on ${where} has a label`)
}

async function signInWithPassword (page: Page, baseUrl: string, who: Person): Promise<void> {
  if (!page.url().startsWith(baseUrl) || new URL(page.url()).pathname !== '/') {
    await page.goto(`${baseUrl}/`)
  }
  await page.getByLabel('Email', { exact: true }).fill(who.email)
  await page.getByLabel('Password', { exact: true }).fill(who.password)
  await page.getByRole('button', { name: 'Sign in', exact: true }).click()
}

async function signOut (browser: Browser): Promise<void> {
  const { page } = browser
  await browser.step('signed-out', async () => {
    await page.getByRole('button', { name: 'Sign out' }).first().click()
    await page.getByText('You have signed out.').waitFor(WAIT)
  }, { screenshot: false })
}

/** The security page's 2FA status and recovery codes left, as shown. */
async function twoFactorShown (page: Page): Promise<{ status: string, left: string }> {
  await page.locator('#overview').waitFor(WAIT)
  return {
    status: (await page.locator('#twofa-status').innerText()).trim(),
    left: (await page.locator('#codes-left').innerText()).trim()
  }
}

/**
 * The codes screen: it holds the page until the codes are saved, offers a
 * download and a copy, and lets go once "I have saved these codes" is ticked.
 */
async function saveRecoveryCodes (t: Test, browser: Browser): Promise<string[]> {
  const { page } = browser
  await page.getByRole('heading', { name: 'Save your recovery codes' }).waitFor(WAIT)
  const codes = (await page.locator('#codes-list li').allInnerTexts()).map((c) => c.trim())
  t.equal(codes.length, 10, 'ten recovery codes are shown')
  t.ok(codes.every((code) => /^[a-z0-9]{4}-[a-z0-9]{4}-[a-z0-9]{4}$/.test(code)))

  await page.getByRole('link', { name: 'Profile and security' }).click()
  await page.getByText('Tick "I have saved these codes" first').waitFor(WAIT)
  t.ok(await page.locator('#codes').isVisible(), 'a link does not leave unsaved codes')
  await page.getByRole('button', { name: 'Done' }).click()
  t.ok(await page.locator('#codes').isVisible(), 'Done does nothing until the box is ticked')

  const [download] = await Promise.all([
    page.waitForEvent('download', WAIT),
    page.getByRole('button', { name: 'Download (.txt)' }).click()
  ])
  t.equal(download.suggestedFilename(), 'twofa-recovery-codes.txt')
  const file = readFileSync(await download.path(), 'utf8')
  t.ok(codes.every((code) => file.includes(code)), 'the .txt file holds every code')

  await page.getByRole('button', { name: 'Copy', exact: true }).click()
  await page.getByText('Copied.', { exact: true }).waitFor(WAIT)
  t.equal(await browser.clipboard(), codes.join('\n'), 'Copy puts every code on the clipboard')
  return codes
}

async function confirmCodesSaved (page: Page): Promise<void> {
  await page.getByLabel('I have saved these codes').check()
  await page.getByRole('button', { name: 'Done' }).click()
  await page.locator('#overview').waitFor(WAIT)
}

/** Turns 2FA on from the security page, reading the key the way a person would. */
async function turnOnTwoFactor (t: Test, browser: Browser, who: string) {
  const { page, step } = browser
  let phone = new Authenticator('')
  const enroll = async () => {
    await page.getByRole('button', { name: 'Turn on 2FA' }).click()
    await page.getByRole('heading', { name: 'Turn on two-factor authentication' }).waitFor(WAIT)
    const shown = (await page.locator('#secret').innerText()).trim()
    t.match(shown, /^([A-Z2-7]{4} )+[A-Z2-7]{1,4}$/, 'the key is shown in groups of four')
    phone = new Authenticator(shown.replaceAll(' ', ''))

    const qrWidth = await page.evaluate('document.getElementById("qr").naturalWidth')
    t.ok(Number(qrWidth) > 0, 'the QR code image loads under the CSP')
    t.match(await page.getByRole('link', { name: /Open in an authenticator app/ })
      .getAttribute('href'), /^otpauth:\/\/totp\/.+secret=/)
    await page.getByRole('button', { name: 'Copy key' }).click()
    await page.getByText('Key copied.').waitFor(WAIT)
    t.equal(await browser.clipboard(), phone.secret, 'Copy key copies the key without spaces')
    await fieldsAreLabelled(t, page, 'the setup')
  }
  await step(`${who}-turn-on-2fa-qr-code`, enroll)

  let codes: string[] = []
  await step(`${who}-recovery-codes-shown-once`, async () => {
    await page.getByLabel('6-digit code from the app').fill(await phone.nextCode())
    await page.getByRole('button', { name: 'Turn on 2FA' }).click()
    codes = await saveRecoveryCodes(t, browser)
  })
  await step(`${who}-security-2fa-on`, async () => {
    await confirmCodesSaved(page)
    await page.getByText('Two-factor authentication is on.').waitFor(WAIT)
    t.match(await twoFactorShown(page), { status: /^On/, left: '10' }, '2FA on, 10 codes left')
  })
  return { phone, codes }
}

/**
 * A person's whole journey through the pages, as the issue tells it: sign
 * up, turn 2FA on, save the recovery codes, sign out, sign in with a code,
 * sign in with a recovery code and see the banner; then the admin turns 2FA
 * on for themselves, signs in with a code, and turns the user's 2FA off; the
 * user signs in with the password alone.
 */
export async function walkThePages (t: Test, browser: Browser, options: WalkOptions) {
  const { page, step } = browser
  const { baseUrl, user, admin } = options

  await step('sign-in', async () => {
    await page.goto(`${baseUrl}/`)
    await heading(page, 'Sign in')
    await fieldsAreLabelled(t, page, 'the sign-in page')
  })

  await step('create-account', async () => {
    await page.getByRole('link', { name: 'Create an account' }).click()
    await heading(page, 'Create an account')
    await fieldsAreLabelled(t, page, 'the sign-up page')
    await page.getByLabel('Name').fill(user.name)
    await page.getByLabel('Email', { exact: true }).fill(user.email)
    await page.getByLabel('Password', { exact: true }).fill(user.password)
  })

  await step('security-2fa-off', async () => {
    await page.getByRole('button', { name: 'Create account' }).click()
    await heading(page, 'Profile and security')
    t.match(await twoFactorShown(page), { status: 'Off' }, 'a new account has 2FA off')
    t.notOk(await page.getByRole('link', { name: 'Users' }).isVisible(), 'no admin link')
  })

  await step('admin-not-allowed', async () => {
    await page.goto(`${baseUrl}/admin/users/`)
    await heading(page, 'Not allowed')
    await page.getByText('does not have the admin role').waitFor(WAIT)
  })

  await page.goto(`${baseUrl}/security/`)
  const { phone, codes } = await turnOnTwoFactor(t, browser, 'user')

  await signOut(browser)
  await step('code-step', async () => {
    await signInWithPassword(page, baseUrl, user)
    const code = page.getByLabel('6-digit code')
    await code.waitFor(WAIT)
    t.equal(await code.getAttribute('inputmode'), 'numeric')
    t.equal(await code.getAttribute('autocomplete'), 'one-time-code')
    t.equal(await focusedId(page), 'totp-code', 'the code field has the focus')
  })

  await step('wrong-code-attempts-left', async () => {
    await page.getByLabel('6-digit code').fill(phone.wrongCode())
    await page.getByRole('button', { name: 'Verify' }).click()
    await page.getByText('That code is not right').waitFor(WAIT)
    await page.getByText('4 attempts left.').waitFor(WAIT)
  })

  await step('signed-in-with-a-pasted-code', async () => {
    const code = await phone.nextCode()
    const field = page.getByLabel('6-digit code')
    await field.fill('')
    await field.focus()
    await browser.paste(`${code.slice(0, 3)} ${code.slice(3)}`)
    t.equal(await field.inputValue(), code, 'a pasted "123 456" becomes "123456"')
    await page.getByRole('button', { name: 'Verify' }).click()
    await heading(page, 'Profile and security')
    t.ok(await page.locator('#recovery-banner').isHidden(), 'no banner after a code sign-in')
    t.equal(await page.evaluate('localStorage.length + sessionStorage.length'), 0,
      'nothing is kept in web storage')
    t.notMatch(await page.evaluate('document.cookie'), /twofa_session/,
      'the session cookie is out of reach of page scripts')
  })

  await signOut(browser)
  await step('recovery-code-step', async () => {
    await signInWithPassword(page, baseUrl, user)
    await page.getByRole('button', { name: 'Use recovery code' }).click()
    await page.getByLabel('Recovery code', { exact: true }).fill((codes[0] as string).toUpperCase())
  })

  await step('recovery-banner', async () => {
    await page.getByRole('button', { name: 'Sign in with recovery code' }).click()
    await heading(page, 'Profile and security')
    const banner = page.locator('#recovery-banner')
    await banner.waitFor(WAIT)
    t.match(await banner.innerText(), /check that your authenticator app still works/i)
    t.match(await banner.innerText(), /You have 9 recovery codes left\./)
  })

  await step('new-recovery-codes', async () => {
    await page.getByRole('button', { name: 'New recovery codes' }).first().click()
    await page.locator('#regenerate').getByLabel('6-digit code').fill(await phone.nextCode())
    await page.getByRole('button', { name: 'Make new codes' }).click()
    const fresh = await saveRecoveryCodes(t, browser)
    t.notOk(fresh.includes(codes[1] as string), 'the new set replaces the old one')
  })
  await step('new-recovery-codes-saved', async () => {
    await confirmCodesSaved(page)
    t.match(await twoFactorShown(page), { left: '10' })
  })
  await signOut(browser)

  // The first admin signed in with a password only: admin pages say what to do.
  await step('admin-needs-2fa-sign-in', async () => {
    await signInWithPassword(page, baseUrl, admin)
    await heading(page, 'Profile and security')
    await page.getByRole('link', { name: 'Users' }).click()
    await heading(page, 'Sign in with two-factor authentication first')
  })
  await page.getByRole('link', { name: 'Profile and security' }).first().click()
  await heading(page, 'Profile and security')
  const adminPhone = (await turnOnTwoFactor(t, browser, 'admin')).phone
  await signOut(browser)

  await signInWithPassword(page, baseUrl, admin)
  await page.getByLabel('6-digit code').fill(await adminPhone.nextCode())
  await page.getByRole('button', { name: 'Verify' }).click()
  await heading(page, 'Profile and security')
  t.pass('the admin signed in with a code')

  await step('admin-users', async () => {
    await page.getByRole('link', { name: 'Users' }).click()
    await heading(page, 'Users')
    await fieldsAreLabelled(t, page, 'the user list')
    await page.getByLabel('Search by email').fill(user.email.slice(0, 5))
    await page.getByRole('button', { name: 'Search' }).click()
    await page.getByRole('link', { name: user.email }).waitFor(WAIT)
    t.equal(await page.locator('#user-list li').count(), 1, 'the search finds the one user')
  })

  await step('admin-user', async () => {
    await page.getByRole('link', { name: user.email }).click()
    await heading(page, user.email)
    await page.locator('#user-2fa').getByText('On').waitFor(WAIT)
  })

  await step('admin-confirm-names-the-user', async () => {
    await page.getByRole('button', { name: 'Turn off 2FA' }).click()
    const dialog = page.getByRole('dialog', { name: `Turn off 2FA for ${user.email}?` })
    await dialog.waitFor(WAIT)
    await dialog.getByRole('button', { name: `Turn off 2FA for ${user.email}` }).waitFor(WAIT)
  })

  await step('admin-turned-2fa-off', async () => {
    await page.getByRole('button', { name: `Turn off 2FA for ${user.email}` }).click()
    await page.getByText(`Two-factor authentication is now off for ${user.email}.`).waitFor(WAIT)
    t.equal((await page.locator('#user-2fa').innerText()).trim(), 'Off')
  })
  await signOut(browser)

  await step('signed-in-without-a-code', async () => {
    await signInWithPassword(page, baseUrl, user)
    await heading(page, 'Profile and security')
    t.match(await twoFactorShown(page), { status: 'Off' }, 'the user is in with a password only')
  })
  await signOut(browser)

  return { adminPhone }
}

/** A person turns their own 2FA off, confirming with a current code. */
export async function turnOffOwnTwoFactor (t: Test, browser: Browser, options: {
  baseUrl: string
  who: Person
  phone: Authenticator
}): Promise<void> {
  const { page, step } = browser
  await signInWithPassword(page, options.baseUrl, options.who)
  await page.getByLabel('6-digit code').fill(await options.phone.nextCode())
  await page.getByRole('button', { name: 'Verify' }).click()
  await heading(page, 'Profile and security')

  await step('turn-off-2fa-asks-for-a-code', async () => {
    await page.getByRole('button', { name: 'Turn off 2FA' }).click()
    await page.getByRole('heading', { name: 'Turn off two-factor authentication' }).waitFor(WAIT)
    await fieldsAreLabelled(t, page, 'the turn-off form')
  })
  await step('turned-2fa-off', async () => {
    await page.locator('#disable').getByLabel('6-digit code').fill(await options.phone.nextCode())
    await page.getByRole('button', { name: 'Turn off 2FA' }).click()
    await page.getByText('Two-factor authentication is off.').waitFor(WAIT)
    t.match(await twoFactorShown(page), { status: 'Off' }, 'the person turned 2FA off')
  })
  await signOut(browser)
}

/**
 * A sign-in whose challenge dies: five wrong codes, and separately one left
 * open past its life (the page's clock is moved on), each send the person
 * back to the password with the reason.
 */
export async function deadChallenges (t: Test, browser: Browser, options: {
  baseUrl: string
  who: Person
  phone: Authenticator
}): Promise<void> {
  const { page, step } = browser

  await step('too-many-wrong-codes', async () => {
    await signInWithPassword(page, options.baseUrl, options.who)
    for (let left = 4; left >= 0; left--) {
      await page.getByLabel('6-digit code').fill(options.phone.wrongCode())
      await page.getByRole('button', { name: 'Verify' }).click()
      if (left > 0) {
        await page.getByText(`${left} ${left === 1 ? 'attempt' : 'attempts'} left.`).waitFor(WAIT)
      }
    }
    await page.getByText('Too many wrong codes for this sign-in.').waitFor(WAIT)
    t.ok(await page.getByLabel('Password', { exact: true }).isVisible(), 'back at the password')
  })

  await step('sign-in-expired', async () => {
    await page.clock.install()
    await page.goto(`${options.baseUrl}/`)
    await signInWithPassword(page, options.baseUrl, options.who)
    await page.getByLabel('6-digit code').waitFor(WAIT)
    await page.clock.fastForward('05:01')
    await page.getByText('Your sign-in expired').waitFor(WAIT)
    t.ok(await page.getByLabel('Password', { exact: true }).isVisible(), 'back at the password')
  })
}

async function focusIsVisible (page: Page): Promise<boolean> {
  return await page.evaluate(`(() => {
    const style = getComputedStyle(document.activeElement)
    return style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) >= 2
  })()`) as boolean
}

async function focusedId (page: Page): Promise<string> {
  return await page.evaluate('document.activeElement.id') as string
}

/**
 * The sign-in page at 320 px, used with the keyboard alone: Tab reaches each
 * field with a visible focus ring, Enter submits, and the code step takes
 * the focus to the code field.
 */
export async function keyboardOnlySignIn (t: Test, browser: Browser, options: {
  baseUrl: string
  who: Person
  phone: Authenticator
}): Promise<void> {
  const { page, step } = browser
  await page.setViewportSize({ width: 320, height: 640 })

  await step('sign-in-at-320px', async () => {
    await page.goto(`${options.baseUrl}/`)
    await heading(page, 'Sign in')
    t.equal(await sidewaysOverflow(page), 0, 'nothing scrolls sideways at 320 px')
  })

  await step('keyboard-only-code-step-at-320px', async () => {
    for (let presses = 0; presses < 6 && await focusedId(page) !== 'email'; presses++) {
      await page.keyboard.press('Tab')
      t.ok(await focusIsVisible(page), `focus ring visible after Tab ${presses + 1}`)
    }
    t.equal(await focusedId(page), 'email', 'Tab reaches the email field')
    await page.keyboard.type(options.who.email)
    await page.keyboard.press('Tab')
    t.equal(await focusedId(page), 'password', 'Tab goes on to the password')
    t.ok(await focusIsVisible(page), 'the password field shows its focus')
    await page.keyboard.type(options.who.password)
    await page.keyboard.press('Enter')
    await page.getByLabel('6-digit code').waitFor(WAIT)
    t.equal(await focusedId(page), 'totp-code', 'the code step puts the focus on the code')
    t.equal(await sidewaysOverflow(page), 0, 'the code step fits 320 px')
  })

  await step('keyboard-only-signed-in-at-320px', async () => {
    await page.keyboard.type(await options.phone.nextCode())
    await page.keyboard.press('Enter')
    await heading(page, 'Profile and security')
    await page.locator('#overview').waitFor(WAIT)
    t.equal(await sidewaysOverflow(page), 0, 'the security page fits 320 px')
  })
  await signOut(browser)
  await page.setViewportSize({ width: 1024, height: 800 })
}
