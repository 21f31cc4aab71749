// Builds the pages into dist/: the HTML, CSS and images from public/ as they
// are, and the TypeScript in src/ compiled by tsc into dist/js/ as browser
// modules. No bundler: the browser loads the modules by their relative paths.
import { spawnSync } from 'node:child_process'
import { cpSync, rmSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const dist = join(root, 'dist')
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc')

rmSync(dist, { recursive: true, force: true })
const compiled = spawnSync(process.execPath, [tsc, '-p', join(root, 'tsconfig.json')], {
  stdio: 'inherit'
})
if (compiled.status !== 0) process.exit(compiled.status ?? 1)

cpSync(join(root, 'public'), dist, { recursive: true })
