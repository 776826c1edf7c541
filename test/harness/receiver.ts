import { afterAll, beforeAll } from 'bun:test'
import { type HttpServer, runtime } from '../../src/runtime/index.ts'

/**
 * A real HTTP server on 127.0.0.1 for the length of a test file (a webhook receiver, a payment
 * provider): each request goes to `answer`. `url` is known once the file's tests start.
 */
export function httpReceiver(answer: (request: Request) => Response | Promise<Response>) {
  let server: HttpServer | undefined
  beforeAll(() => {
    server = runtime.serve(answer, { port: 0, hostname: '127.0.0.1' })
  })
  afterAll(() => server?.stop())
  return {
    get url() {
      return `http://127.0.0.1:${server!.port}`
    },
  }
}
