// Builds the pages into dist/: the HTML, CSS and images from public/ as they
// are, and the TypeScript in src/ compiled by tsc into dist/js/ as browser
// modules. No bundler: the browser loads the modules by their relative paths.
//
// The new build is made beside dist/ and swapped in with two renames, so a
// server reading dist/ while the build runs never finds it half empty.
import { spawnSync } from 'node:child_process'
import { cpSync, existsSync, renameSync, rmSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const dist = join(root, 'dist')
const next = join(root, `.dist-${process.pid}`)
const old = join(root, `.dist-old-${process.pid}`)
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc')

rmSync(next, { recursive: true, force: true })
const compiled = spawnSync(
  process.execPath,
  [tsc, '-p', join(root, 'tsconfig.json'), '--outDir', join(next, 'js')],
  { stdio: 'inherit' }
)
if (compiled.status !== 0) {
  rmSync(next, { recursive: true, force: true })
  process.exit(compiled.status ?? 1)
}
cpSync(join(root, 'public'), next, { recursive: true })

if (existsSync(dist)) renameSync(dist, old)
renameSync(next, dist)
rmSync(old, { recursive: true, force: true })
