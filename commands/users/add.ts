import * as Args from '@oclif/core/args'
import * as Flags from '@oclif/core/flags'
import { addUser, ROLES, type Role } from '../../broker/auth/users-file.js'
import { BaseCommand, EdgerunError } from '../../cli/base-command.js'
import { choiceFlag } from '../../cli/checked-flags.js'

export default class UsersAdd extends BaseCommand {
  static override summary = 'Add a user to a users file (scrypt-hashed), or change its role and password.'
  static override description =
    'The password comes from --password, else from stdin when it is not a terminal (one line), else from a prompt. ' +
    'A worker\'s username is its node id; a client\'s username names its reply topic.'
  static override examples = [
    '<%= config.bin %> users add alice --role client --file users.json',
    'printf %s "$PASS" | <%= config.bin %> users add w1 --role worker --file users.json',
    '<%= config.bin %> users add root --role admin --file users.json --password s3cret',
  ]

  static override args = {
    name: Args.string({ description: 'user name: 1-64 chars of [A-Za-z0-9._-]', required: true }),
  }

  static override flags = {
    role: choiceFlag(ROLES, { description: 'what the user may do', required: true }),
    file: Flags.string({ description: 'the users file (created if missing; mode 0600)', required: true }),
    password: Flags.string({ description: 'the password (visible in the process list and shell history: prefer stdin or the prompt)' }),
  }

  async run(): Promise<{ name: string; role: Role; file: string; created: boolean }> {
    const { args, flags } = await this.parse(UsersAdd)
    const role: Role = flags.role
    const password = flags.password ?? (process.stdin.isTTY ? await promptTwice(args.name) : await readStdinLine())
    const { created } = await addUser(flags.file, { name: args.name, role, password })
    if (!this.jsonEnabled()) this.log(`${created ? 'added' : 'updated'} user ${args.name} (${role}) in ${flags.file}`)
    return { name: args.name, role, file: flags.file, created }
  }
}

/** All of stdin, minus one trailing newline: `echo pass | edgerun users add …` works. */
async function readStdinLine(): Promise<string> {
  const chunks: Buffer[] = []
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer)
  const text = Buffer.concat(chunks).toString('utf8').replace(/\r?\n$/, '')
  if (text.includes('\n')) throw new EdgerunError('BAD_FLAG', 'the password on stdin must be one line')
  return text
}

async function promptTwice(name: string): Promise<string> {
  const first = await promptHidden(`Password for ${name}: `)
  const second = await promptHidden('Again: ')
  if (first !== second) throw new EdgerunError('BAD_FLAG', 'the two passwords differ')
  return first
}

/** Reads one line from the terminal without echoing it. */
function promptHidden(question: string): Promise<string> {
  const stdin = process.stdin
  process.stderr.write(question)
  return new Promise((resolve, reject) => {
    let value = ''
    const finish = (error?: Error) => {
      stdin.off('data', onData)
      stdin.setRawMode(false)
      stdin.pause()
      process.stderr.write('\n')
      error ? reject(error) : resolve(value)
    }
    const onData = (data: Buffer) => {
      for (const char of data.toString('utf8')) {
        if (char === '\r' || char === '\n') return finish()
        if (char === '\u0003') return finish(new EdgerunError('BAD_FLAG', 'interrupted'))
        if (char === '\u007f' || char === '\b') value = value.slice(0, -1)
        else value += char
      }
    }
    stdin.setRawMode(true)
    stdin.resume()
    stdin.on('data', onData)
  })
}
