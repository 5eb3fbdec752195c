import { z } from 'zod'

export const VERDICTS = ['AC', 'WA', 'TLE', 'MLE', 'RE', 'OLE', 'CE', 'IE'] as const
export const verdictSchema = z.enum(VERDICTS)

export const commandOutputSchema = z.object({
  exitCode: z.number().int().nullable(),
  signal: z.string().nullable(),
  stdout: z.string(),
  stderr: z.string(),
  durationMs: z.number().nonnegative(),
  truncated: z.boolean().optional(),
})

export const judgeTestResultSchema = z.object({
  name: z.string(),
  verdict: verdictSchema,
  timeMs: z.number().nonnegative(),
  memoryKb: z.number().nonnegative(),
  detail: z.string().optional(),
})

export const judgeOutputSchema = z.object({
  verdict: verdictSchema,
  tests: z.array(judgeTestResultSchema),
  compile: z.object({ ok: z.boolean(), output: z.string() }).optional(),
})

export const noopOutputSchema = z.object({ ok: z.literal(true) })

/** Outputs are validated loosely on the wire: a result must always be recordable, never lost. */
export const jobOutputSchema = z.union([judgeOutputSchema, commandOutputSchema, noopOutputSchema, z.null()])

export type Verdict = (typeof VERDICTS)[number]
export type CommandOutput = z.infer<typeof commandOutputSchema>
export type JudgeTestResult = z.infer<typeof judgeTestResultSchema>
export type JudgeOutput = z.infer<typeof judgeOutputSchema>
export type NoopOutput = z.infer<typeof noopOutputSchema>
export type JobOutput = z.infer<typeof jobOutputSchema>
