import * as Args from '@oclif/core/args'
import * as Flags from '@oclif/core/flags'
import { removeUser } from '../../broker/auth/users-file.js'
import { BaseCommand, EdgerunError } from '../../cli/base-command.js'

export default class UsersRemove extends BaseCommand {
  static override summary = 'Remove a user from a users file (a running broker sees it after a restart).'
  static override examples = ['<%= config.bin %> users remove alice --file users.json']
  static override args = { name: Args.string({ description: 'user name', required: true }) }
  static override flags = { file: Flags.string({ description: 'the users file', required: true }) }

  async run(): Promise<{ name: string; removed: boolean }> {
    const { args, flags } = await this.parse(UsersRemove)
    if (!(await removeUser(flags.file, args.name))) throw new EdgerunError('NOT_FOUND', `no user ${args.name} in ${flags.file}`)
    if (!this.jsonEnabled()) this.log(`removed user ${args.name} from ${flags.file}`)
    return { name: args.name, removed: true }
  }
}
