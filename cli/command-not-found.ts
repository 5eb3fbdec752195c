import type { Hook } from '@oclif/core'
import { EdgerunError } from '../src/errors/index.js'

/**
 * oclif's `command_not_found` hook. With spaces between topics, oclif reads `edgerun nodes extra`
 * as a command `nodes:extra` and reports "command nodes:extra not found" in its own format,
 * --json or not. Here the words after the longest known command go back to it as arguments (its
 * own parse then says what it takes), `help` is --help, and a word that names no command is one
 * BAD_FLAG line that lists the commands there are.
 */
const hook: Hook<'command_not_found'> = async function ({ id, argv = [], config }) {
  const words = id.split(':')
  // `edgerun help [COMMAND]`, as many CLIs take it: the help of the longest command or topic named.
  if (words[0] === 'help') {
    const target = words.slice(1)
    while (target.length > 0 && !config.findCommand(target.join(':')) && !config.findTopic(target.join(':'))) target.pop()
    if (target.length > 0 || words.length === 1) {
      const { Help } = await import('@oclif/core/help')
      return new Help(config).showHelp(target)
    }
    return unknown(words.slice(1), argv, config)
  }
  for (let n = words.length - 1; n > 0; n--) {
    const prefix = words.slice(0, n).join(':')
    if (config.findCommand(prefix) && subcommands(config.commandIDs, prefix).length === 0) {
      return config.runCommand(prefix, [...words.slice(n), ...argv])
    }
  }
  return unknown(words, argv, config)
}

function unknown(words: string[], argv: string[], config: { bin: string; commandIDs: string[] }): undefined {
  // The deepest topic the words reach, and the word after it that names nothing.
  let depth = 0
  while (depth < words.length - 1 && subcommands(config.commandIDs, words.slice(0, depth + 1).join(':')).length > 0) depth++
  const topic = words.slice(0, depth)
  const where = [config.bin, ...topic].join(' ')
  const known = subcommands(config.commandIDs, topic.join(':'))
  const error = new EdgerunError('BAD_FLAG', `${words[depth]} is not a command of ${where}; its commands: ${known.join(', ')}`, {
    details: { command: words[depth], allowed: `one of ${known.join(', ')}` },
  })
  process.exitCode = error.exitCode
  if (argv.includes('--json')) process.stdout.write(`${JSON.stringify({ error: error.toJSON() }, null, 2)}\n`)
  else process.stderr.write(`error: ${error.message}\n`)
  return undefined
}

/** The next words after `topic` (`''` for the top level) that lead to a command. */
function subcommands(ids: string[], topic: string): string[] {
  const prefix = topic ? `${topic}:` : ''
  const next = ids.filter((id) => id.startsWith(prefix) && id.length > prefix.length).map((id) => id.slice(prefix.length).split(':')[0]!)
  return [...new Set(next)].sort()
}

export default hook
