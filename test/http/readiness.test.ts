import { describe, expect, it } from 'vitest'
import { startMasterHttp } from '../../broker/http/start.js'
import { MemoryJobStore } from '../../broker/store/memory-store.js'
import { PROTOCOL_VERSION, encode, topics } from '../../src/protocol/index.js'
import { silentLogger } from '../../src/logging/logger.js'
import { withMaster } from '../helpers/recording-transport.js'
import { waitFor } from '../helpers/wait.js'
import { get } from './scrape.js'

/** A store whose commits fail while `failing` is set, as a full or read-only disk's would. */
class FlakyStore extends MemoryJobStore {
  failing = false
  override flush(): Promise<void> {
    return this.failing ? Promise.reject(new Error('disk full')) : super.flush()
  }
}

describe('/readyz follows the store', () => {
  it('503 while the store\'s commits fail, 200 again once one goes through', async () => {
    const store = new FlakyStore({ namespace: 'ready' })
    await withMaster(
      'ready',
      async (master, transport) => {
        const http = await startMasterHttp({ options: { port: 0 }, master, logger: silentLogger() })
        try {
          expect(await get(`${http.url}/readyz`)).toMatchObject({ status: 200, text: 'ready\n' })
          store.failing = true
          transport.deliver(topics.submit('ready'), encode({ v: PROTOCOL_VERSION, type: 'submit', id: 'j1', kind: 'noop', replyTo: 'ready/reply/c1' }))
          await waitFor(async () => (await get(`${http.url}/readyz`)).status === 503, { what: 'not ready' })
          expect((await get(`${http.url}/readyz`)).text).toContain('store')
          expect((await get(`${http.url}/healthz`)).status).toBe(200)
          // The master retries on its own (250 ms, then longer); the next commit that works makes it ready.
          store.failing = false
          await waitFor(async () => (await get(`${http.url}/readyz`)).status === 200, { timeoutMs: 5000, what: 'ready again' })
        } finally {
          await http.close()
        }
      },
      store,
    )
  })
})
