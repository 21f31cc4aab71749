import { writeFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { API_DOCUMENT_FILE, buildApiDocument } from './api-docs.js'

/**
 * `pnpm openapi`: writes the OpenAPI document of the public API to
 * services/standalone/openapi.json (or to the path given), where a test
 * checks that it still matches the routes.
 */
async function main (): Promise<void> {
  const target = process.argv[2] ?? fileURLToPath(API_DOCUMENT_FILE)
  const document = await buildApiDocument()
  writeFileSync(target, JSON.stringify(document, null, 2) + '\n')
  process.stdout.write(`wrote ${target}\n`)
}

main().catch((error: unknown) => {
  process.stderr.write(`openapi: ${error instanceof Error ? error.message : String(error)}\n`)
  process.exit(1)
})
