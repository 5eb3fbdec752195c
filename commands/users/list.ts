import * as Flags from '@oclif/core/flags'
import { listUsers, type Role } from '../../broker/auth/users-file.js'
import { BaseCommand } from '../../cli/base-command.js'
import { table } from '../../cli/format.js'

export default class UsersList extends BaseCommand {
  static override summary = 'List the users of a users file (names and roles; never hashes).'
  static override examples = ['<%= config.bin %> users list --file users.json']
  static override flags = { file: Flags.string({ description: 'the users file', required: true }) }

  async run(): Promise<Array<{ name: string; role: Role }>> {
    const { flags } = await this.parse(UsersList)
    const users = await listUsers(flags.file)
    if (!this.jsonEnabled()) this.log(users.length === 0 ? 'no users' : table(['NAME', 'ROLE'], users.map((u) => [u.name, u.role])))
    return users
  }
}
