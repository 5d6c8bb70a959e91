/** Prometheus metrics of the receiver, on prom-client's default registry, served on its private metrics listener. */
import { collectDefaultMetrics, Counter, Histogram } from 'prom-client';
import { SUBSCRIBED_EVENTS } from '../calendly/schemas';
import { startMetricsServer, type MetricsServer } from '../metrics-server';

/** Every refused webhook request, by the code of its answer (`rate_limited` once its address is over the limit). */
export const webhookRefusals = new Counter({
  name: 'calendly_webhook_refusals_total',
  help: 'Webhook requests refused before reaching Temporal (401, 413, 415, 429), by reason',
  labelNames: ['reason'] as const,
});

export type DeliveryOutcome = 'accepted' | 'duplicate' | 'unprocessed' | 'temporal_unavailable';

/**
 * Every validly signed delivery, by event type and outcome: `accepted` (a new workflow), `duplicate` (its workflow
 * existed: a redelivery), `unprocessed` (a new delivery kept for replay: unknown event type or payload),
 * `temporal_unavailable` (answered 503, Calendly retries it).
 */
export const webhookDeliveries = new Counter({
  name: 'calendly_webhook_deliveries_total',
  help: 'Validly signed webhook deliveries, by event type (a handled one or "other"), outcome and organization',
  labelNames: ['event_type', 'outcome', 'organization'] as const,
});

/** From the signature check to Temporal's answer (the body already read): what the webhook's 2xx waits for. */
export const webhookAckSeconds = new Histogram({
  name: 'calendly_webhook_ack_seconds',
  help: 'Seconds from the signature check of a delivery to its durable start in Temporal (or its failure), by organization',
  buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
  labelNames: ['organization'] as const,
});

/** A label value that carries nothing a sender chose freely: an event type we subscribe to, or `other`. */
export function eventTypeLabel(eventName: string | null | undefined): string {
  return eventName && (SUBSCRIBED_EVENTS as readonly string[]).includes(eventName) ? eventName : 'other';
}

let defaultMetricsCollected = false;

/**
 * GET /metrics on the receiver's own listener (METRICS_PORT on METRICS_HOST), never on its public port: the samples
 * name every organization. The process metrics (memory, event loop lag…) are added once.
 */
export function startReceiverMetrics(port: number, host: string): Promise<MetricsServer> {
  if (!defaultMetricsCollected) {
    defaultMetricsCollected = true;
    collectDefaultMetrics();
  }
  return startMetricsServer({ port, host });
}
