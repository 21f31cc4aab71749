import { readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import t from 'tap'
import { authSettingNames } from '@twofa/auth'
import { totpSettingNames } from '@twofa/totp'
import { userSettingNames } from '@twofa/user'
import { standaloneSettingNames } from '../src/config.js'

const readme = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'README.md')

const settingsOf: Record<string, string[]> = {
  auth: authSettingNames,
  totp: totpSettingNames,
  user: userSettingNames,
  standalone: standaloneSettingNames
}

interface Row {
  names: string[]
  /** The service column: service names, or `all`. */
  services: string[]
}

/** The rows of the table under the README's "Configuration" heading. */
function configurationTable (): Row[] {
  const text = readFileSync(readme, 'utf8')
  const section = text.split(/^## /m).find((part) => part.startsWith('Configuration\n'))
  if (!section) throw new Error('the README has no "## Configuration" section')

  return section.split('\n')
    .filter((line) => line.startsWith('| `'))
    .map((line) => {
      const [names = '', services = ''] = line.split('|').slice(1).map((cell) => cell.trim())
      return {
        names: [...names.matchAll(/`([A-Z][A-Z0-9_]*)`/g)].map((match) => match[1] as string),
        services: services.split(',').map((service) => service.trim())
      }
    })
}

t.test('every setting a service reads has a row in the README naming that service', async (t) => {
  const rows = configurationTable()
  const missing: string[] = []

  for (const [service, names] of Object.entries(settingsOf)) {
    for (const name of names) {
      const documented = rows.some((row) => row.names.includes(name) &&
        (row.services.includes(service) || row.services.includes('all')))
      if (!documented) missing.push(`${name} (${service})`)
    }
  }

  t.same(missing, [], 'settings without a row for their service')
})

t.test('every setting in the README table is read by some service', async (t) => {
  const read = new Set(Object.values(settingsOf).flat())

  const stale = configurationTable().flatMap((row) => row.names).filter((name) => !read.has(name))

  t.same(stale, [], 'rows for settings nothing reads')
})
