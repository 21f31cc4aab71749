import { subscribe } from 'node:diagnostics_channel'
import {
  deliveryChannel,
  publishChannel,
  type DeliveryReport,
  type PublishReport
} from '@twofa/events'
import { Counter, type Registry } from 'prom-client'

function counter<L extends string> (
  registry: Registry,
  name: string,
  help: string,
  labelNames: readonly L[] = []
): Counter<L> {
  return new Counter({ name, help, labelNames, registers: [registry] })
}

/**
 * Counts what the event buses report: events published and failed,
 * deliveries by outcome, and, from the published events themselves, the 2FA
 * numbers an operator watches. Counting published events, not calls in the
 * domain, covers events written to an outbox and relayed later as well as
 * those published at once.
 */
export function countEvents (registry: Registry): void {
  const published = counter(registry, 'twofa_events_published_total',
    'Events the broker confirmed, by type.', ['type'])
  const failed = counter(registry, 'twofa_event_publish_failures_total',
    'Attempts to publish an event that the broker did not confirm (they are retried).', ['type'])
  const verifications = counter(registry, 'twofa_verifications_total',
    'Second-factor checks by outcome: success, invalid_code or replayed.',
    ['method', 'purpose', 'outcome'])
  const lockouts = counter(registry, 'twofa_lockouts_total',
    'Accounts whose second step was locked after too many wrong codes.')
  const recoveryCodes = counter(registry, 'twofa_recovery_codes_used_total',
    'Recovery codes used to sign in or to change 2FA.')
  const deliveries = counter(registry, 'twofa_event_deliveries_total',
    'Deliveries settled by a consumer: handled, retried or dead_lettered.',
    ['consumer', 'outcome'])
  const redeliveries = counter(registry, 'twofa_event_redeliveries_total',
    'Deliveries the broker had delivered before (a handler failed or a consumer died).',
    ['consumer'])

  subscribe(publishChannel.name, (message) => {
    const { event, ok } = message as PublishReport
    if (!ok) {
      failed.inc({ type: event.type })
      return
    }

    published.inc({ type: event.type })
    const data = event.data as { method?: string, purpose?: string, reason?: string }
    if (event.type === 'twofactor.verification.succeeded') {
      verifications.inc({ method: data.method, purpose: data.purpose, outcome: 'success' })
    } else if (event.type === 'twofactor.verification.failed') {
      verifications.inc({ method: data.method, purpose: data.purpose, outcome: data.reason })
    } else if (event.type === 'twofactor.locked') {
      lockouts.inc()
    } else if (event.type === 'twofactor.recovery_code.used') {
      recoveryCodes.inc()
    }
  })

  subscribe(deliveryChannel.name, (message) => {
    const { consumer, outcome, redelivered } = message as DeliveryReport
    deliveries.inc({ consumer, outcome })
    if (redelivered) redeliveries.inc({ consumer })
  })
}
