import { parentPort, workerData } from 'node:worker_threads'
import { type PackedRows, unpack } from './row-packing.js'
import { openConnection, rowWriter, type ConnectionOptions } from './sqlite-connection.js'

/**
 * The writer thread's side of background-writer.ts: its own connection to jobs.db, set up and
 * written through the same module as the store's (sqlite-connection.ts). It is a module of its
 * own that the thread loads from dist/, so it imports nothing but that module and the packing.
 */
export interface WriterThreadData extends ConnectionOptions {
  path: string
  /** The id of the store's namespace: the same for every row, so it never crosses per row. */
  namespaceId: number
}

export type WriterRequest = { close: true } | ({ id: number } & PackedRows)
export type WriterReply = { closed: true } | { id: number; ok: true } | { id: number; ok: false; message: string }

const port = parentPort
if (port) {
  const data = workerData as WriterThreadData
  const { db } = openConnection(data.path, data)
  const write = rowWriter(db, data.namespaceId)
  const reply = (message: WriterReply) => port.postMessage(message)
  port.on('message', (message: WriterRequest) => {
    if ('close' in message) {
      db.close()
      reply({ closed: true })
      return
    }
    try {
      write(unpack(message))
      reply({ id: message.id, ok: true })
    } catch (error) {
      reply({ id: message.id, ok: false, message: error instanceof Error ? error.message : String(error) })
    }
  })
}
