import type { Notification } from '../../../../schemas/notification.ts'

export type { Notification }

/** A way to reach customers. `send` resolves once the notification is delivered, or rejects. */
export interface Sink {
  readonly name: string
  send(notification: Notification): Promise<void>
  /** Frees the sink's connections once nothing more is sent. */
  close?(): Promise<void>
}
