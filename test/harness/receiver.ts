import { afterAll, beforeAll } from 'bun:test'

/**
 * A real HTTP server on 127.0.0.1 for the length of a test file (a webhook receiver, a payment
 * provider): each request goes to `answer`. `url` is known once the file's tests start.
 */
export function httpReceiver(answer: (request: Request) => Response | Promise<Response>) {
  let server: ReturnType<typeof Bun.serve> | undefined
  beforeAll(() => {
    server = Bun.serve({ port: 0, hostname: '127.0.0.1', fetch: answer })
  })
  afterAll(() => server?.stop(true))
  return {
    get url() {
      return `http://127.0.0.1:${server!.port}`
    },
  }
}
