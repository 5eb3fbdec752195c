import { createServer } from 'node:net'
import { expect, it } from 'vitest'
import { Connection } from '../../src/net/connection.js'

/** A port that was free a moment ago: connecting to it is refused at once. */
async function closedPort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as { port: number }
  await new Promise<void>((resolve) => server.close(() => resolve()))
  return port
}

it('a connect error names the broker without the password its URL holds', async () => {
  const url = `mqtt://bob:s3cret-pw@127.0.0.1:${await closedPort()}`
  const error = await Connection.open({ url, clientId: 'masking-test', connectTimeoutMs: 5_000 }).then(
    () => undefined,
    (reason: unknown) => reason as Error & { code?: string },
  )
  expect(error?.code).toBe('BROKER_UNREACHABLE')
  expect(error?.message).toContain('127.0.0.1')
  expect(error?.message).not.toContain('s3cret-pw')
})
