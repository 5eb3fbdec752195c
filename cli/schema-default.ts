import type { z } from 'zod'
import { EdgerunError } from '../src/errors/index.js'

/**
 * The default an option schema gives one of its fields. Flags take their `default` (and so the
 * `[default: …]` of --help, which oclif.manifest.json records) from here, so a default is written
 * once, in the schema, and help cannot drift from what the library would do.
 */
export function schemaDefault<S extends z.ZodObject, K extends keyof S['shape'] & string>(schema: S, key: K): z.output<S['shape'][K]> {
  const field = schema.shape[key] as z.ZodType
  const value = field.parse(undefined) as z.output<S['shape'][K]>
  if (value === undefined) throw new EdgerunError('INTERNAL', `option ${key} has no default in its schema`)
  return value
}
