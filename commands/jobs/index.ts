import JobsList from './list.js'

/** `edgerun jobs` is `edgerun jobs list`. */
export default class Jobs extends JobsList {
  static override summary = 'List jobs, newest first (same as `jobs list`).'
  static override examples = ['<%= config.bin %> jobs', '<%= config.bin %> jobs --state failed']
}
