import { EdgerunClient } from '../src/client/client.js'
import { connectionOptions, type ConnectionFlagValues } from './flags.js'

/** Connects, runs `fn`, and always closes: the shape of every short client command. */
export async function withClient<T>(flags: ConnectionFlagValues, fn: (client: EdgerunClient) => Promise<T>): Promise<T> {
  const client = await EdgerunClient.connect(connectionOptions(flags))
  try {
    return await fn(client)
  } finally {
    await client.close()
  }
}
