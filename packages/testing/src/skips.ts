import { accessSync, constants, statSync } from 'node:fs'
import { delimiter, isAbsolute, join } from 'node:path'

/**
 * Set to 1 (CI does) to turn every skip for a missing server or program into
 * a failure: where everything is installed, a skip would hide a broken setup.
 */
const REQUIRE_ALL = 'REQUIRE_TEST_DEPENDENCIES'

/**
 * The reason to skip the tests that need something this machine lacks. Under
 * REQUIRE_TEST_DEPENDENCIES=1 it throws instead, failing the test file.
 */
export function skipBecause (reason: string): string {
  if (process.env[REQUIRE_ALL] === '1') {
    throw new Error(`${reason} (${REQUIRE_ALL}=1: a missing dependency fails, it does not skip)`)
  }
  return reason
}

function isExecutableFile (path: string): boolean {
  try {
    accessSync(path, constants.X_OK)
    return statSync(path).isFile()
  } catch {
    return false
  }
}

/** Whether a program runs by this absolute path, or by this name from a PATH directory. */
function installed (program: string): boolean {
  if (isAbsolute(program)) return isExecutableFile(program)
  const directories = (process.env.PATH ?? '').split(delimiter).filter((dir) => dir !== '')
  return directories.some((dir) => isExecutableFile(join(dir, program)))
}

/**
 * Why the tests that run a program must skip here (it is not installed; the
 * reason says how to install it), or false when it is there. See skipBecause.
 */
export function programMissing (program: string, install: string): string | false {
  return installed(program) ? false : skipBecause(`${program} is not installed: ${install}`)
}
