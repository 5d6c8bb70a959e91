/** Prometheus metrics of the receiver, on prom-client's default registry, served as GET /metrics. */
import Router from '@koa/router';
import { collectDefaultMetrics, Counter, Histogram, register } from 'prom-client';
import { HANDLED_EVENTS } from '../calendly/schemas';
import { textAnswer, type ApiPaths } from './openapi';

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

/** A label value that carries nothing a sender chose freely: a handled event type, or `other`. */
export function eventTypeLabel(eventName: string | null | undefined): string {
  return eventName && (HANDLED_EVENTS as readonly string[]).includes(eventName) ? eventName : 'other';
}

let defaultMetricsCollected = false;

/** GET /metrics in the Prometheus text format; the process metrics (memory, event loop lag…) are added once. */
export function metricsRoutes(): Router {
  if (!defaultMetricsCollected) {
    defaultMetricsCollected = true;
    collectDefaultMetrics();
  }
  const router = new Router();
  router.get('/metrics', async (ctx) => {
    ctx.set('Cache-Control', 'no-store');
    ctx.type = register.contentType;
    ctx.body = await register.metrics();
  });
  return router;
}

export const metricsPaths: ApiPaths = {
  '/metrics': {
    get: {
      operationId: 'getMetrics',
      tags: ['operations'],
      summary: 'Prometheus metrics of this receiver',
      responses: { 200: textAnswer('text/plain', 'The Prometheus text format.') },
    },
  },
};
