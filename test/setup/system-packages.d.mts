/** Types for system-packages.mjs, which stays plain JavaScript so that `.ci/run` can call it before `npm ci`. */
export interface TestPackage {
  name: string
  binaries: string[]
  /** Where else its binaries live (off PATH), newest first. */
  dirs?: () => string[]
  usedBy: string
}
export interface SystemView {
  dirs: string[]
  isRoot: boolean
  aptGet: string | undefined
  run(file: string, args: string[], env: NodeJS.ProcessEnv): number
  log(line: string): void
}
export type EnsureOutcome = { ok: true; installed: string[] } | { ok: false; line: string }

export const TEST_PACKAGES: TestPackage[]
export function postgresBinDirs(root?: string): string[]
export function searchDirs(pathEnv?: string): string[]
export function findBinary(name: string, dirs?: string[]): string | undefined
export function parseExtra(value?: string): TestPackage[]
export function packageList(env?: NodeJS.ProcessEnv): TestPackage[]
export function missingPackages(packages: TestPackage[], dirs?: string[]): TestPackage[]
export function packageFor(binary: string): string | undefined
export function neededLine(names: string[], why: string, command: string): string
export function installCommand(names: string[], asRoot: boolean): string
export function ensurePackages(packages: TestPackage[], system: SystemView): EnsureOutcome
