/** Prometheus metrics of the receiver, on prom-client's default registry, served as GET /metrics. */
import Router from '@koa/router';
import { collectDefaultMetrics, Counter, register } from 'prom-client';

/** Every refused webhook request, by the code of its answer (`rate_limited` once its address is over the limit). */
export const webhookRefusals = new Counter({
  name: 'calendly_webhook_refusals_total',
  help: 'Webhook requests refused before reaching Temporal (401, 413, 415, 429), by reason',
  labelNames: ['reason'] as const,
});

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
