import { channel } from 'node:diagnostics_channel'
import type { Envelope } from './contract.js'

/** One attempt to hand an event to the broker, and whether the broker took it. */
export interface PublishReport {
  event: Envelope
  ok: boolean
}

/** How a consumer settled one delivery. */
export interface DeliveryReport {
  consumer: string
  outcome: 'handled' | 'retried' | 'dead_lettered'
  /** The broker had delivered this message before. */
  redelivered: boolean
}

/**
 * What the buses report for metrics, on Node's diagnostics channels (as
 * undici does): the buses depend on no metrics library, whoever counts
 * subscribes once per process, and a channel nobody listens to costs nothing.
 */
export const publishChannel = channel('twofa:events:publish')
export const deliveryChannel = channel('twofa:events:delivery')

export function reportPublish (report: PublishReport): void {
  if (publishChannel.hasSubscribers) publishChannel.publish(report)
}

export function reportDelivery (report: DeliveryReport): void {
  if (deliveryChannel.hasSubscribers) deliveryChannel.publish(report)
}
