import type { Logger } from '../../log.ts'

const encoder = new TextEncoder()

/**
 * Server-sent events of one changing document: every subscriber gets it at once, then every
 * `everyMs` (computed once per tick for all of them, and only while someone listens). `close` ends
 * every stream, so that a stopping server has no request left open.
 */
export class LiveStream {
  readonly #subscribers = new Set<ReadableStreamDefaultController<Uint8Array>>()
  #timer: ReturnType<typeof setInterval> | undefined
  #closed = false

  constructor(
    private readonly render: () => Promise<string>,
    private readonly everyMs: number,
    private readonly logger?: Logger,
  ) {}

  get subscribers(): number {
    return this.#subscribers.size
  }

  /** A `text/event-stream` response: a `state` event now and one each tick. */
  subscribe(): Response {
    let mine: ReadableStreamDefaultController<Uint8Array> | undefined
    const body = new ReadableStream<Uint8Array>({
      start: async (controller) => {
        mine = controller
        if (this.#closed) return controller.close()
        this.#subscribers.add(controller)
        // The browser reconnects after this long when the stream breaks.
        controller.enqueue(encoder.encode('retry: 2000\n\n'))
        this.#send([controller], await this.render())
        this.#timer ??= setInterval(() => void this.#tick(), this.everyMs)
      },
      cancel: () => this.#drop(mine),
    })
    return new Response(body, { headers: { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive' } })
  }

  /** Ends every stream; later subscribers get an empty one. */
  close(): void {
    this.#closed = true
    for (const controller of this.#subscribers) {
      try {
        controller.close()
      } catch {
        // already closed by the client
      }
    }
    this.#subscribers.clear()
    clearInterval(this.#timer)
    this.#timer = undefined
  }

  async #tick(): Promise<void> {
    if (this.#subscribers.size === 0) return
    try {
      this.#send([...this.#subscribers], await this.render())
    } catch (error) {
      this.logger?.warn({ event: 'console:render-failed', err: error })
    }
  }

  #send(controllers: Array<ReadableStreamDefaultController<Uint8Array>>, data: string): void {
    const frame = encoder.encode(`event: state\ndata: ${data}\n\n`)
    for (const controller of controllers) {
      try {
        controller.enqueue(frame)
      } catch {
        this.#drop(controller)
      }
    }
  }

  #drop(controller: ReadableStreamDefaultController<Uint8Array> | undefined): void {
    if (controller) this.#subscribers.delete(controller)
    if (this.#subscribers.size > 0) return
    clearInterval(this.#timer)
    this.#timer = undefined
  }
}
