import { runCommand } from '@oclif/test'
import { ROOT } from './processes.js'

/** Runs a CLI command in-process; commands report failure through process.exitCode, so it is reset. */
export async function runCli(args: string[]) {
  const before = process.exitCode
  const out = await runCommand(args, { root: ROOT })
  const exitCode = process.exitCode ?? 0
  process.exitCode = before
  return { ...out, exitCode }
}
